"""py-aiohttp: the lab's /work and /health in aiohttp's web server.

Written the way an aiohttp service usually is: ``async def`` handlers on a
``web.Application``, run on asyncio's own event loop in one process.
Parameters are read from the raw query string by common.py, exactly as the
lab's HTTP core reads them; a bad one gets 400 and one line saying why,
then the connection is closed. What each request does is common.py's, so it
matches the lab and the FastAPI server.

    target/venv-servers/bin/python scripts/python/servers/aiohttp_app.py --port 0

prints ``127.0.0.1:PORT`` on its first line; Ctrl-C stops it. Create the
virtual environment first: scripts/python/setup_servers_venv.sh.
"""

import asyncio

import aiohttp
from aiohttp import web

import common

NAME = "py-aiohttp"
compute = common.Compute()


def refuse(status, reason):
    """The lab's refusal: a status, one line saying why, and a closed connection."""
    response = web.Response(status=status, text=reason + "\n")
    response.force_close()
    return response


async def health(request):
    return web.Response(text=common.HEALTH_BODY.decode())


async def work(request):
    try:
        wait_ms, cpu_us, length, how = common.parse_work(request.query_string)
    except common.BadRequest as reason:
        return refuse(400, str(reason))
    await common.handle_work(compute, wait_ms, cpu_us, how)
    return web.Response(body=common.body(length), content_type="application/octet-stream")


@web.middleware
async def lab_refusals(request, handler):
    """Unknown paths and methods get the lab's one-line answers."""
    try:
        return await handler(request)
    except web.HTTPMethodNotAllowed:
        return refuse(405, f"method {request.method} is not allowed; use GET")
    except web.HTTPNotFound:
        return refuse(404, f'no such path "{request.path}"; valid: /work, /health')


async def serve(args):
    sock = common.listen(args)
    app = web.Application(middlewares=[lab_refusals])
    app.add_routes([web.get("/health", health), web.get("/work", work)])
    runner = web.AppRunner(
        app,
        access_log=None,
        keepalive_timeout=args.idle_timeout_s,
        handle_signals=True,
    )
    await runner.setup()
    await web.SockSite(runner, sock, backlog=common.LISTEN_BACKLOG).start()
    common.announce(
        sock,
        NAME,
        [("python", common.python_version()), ("aiohttp", aiohttp.__version__)],
        f"aiohttp on asyncio's own loop, one process, idle timeout {args.idle_timeout_s} s",
    )
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main():
    args = common.arguments(__doc__.splitlines()[0])
    try:
        asyncio.run(serve(args))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
