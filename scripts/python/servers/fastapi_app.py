"""py-fastapi: the lab's /work and /health in FastAPI, served by uvicorn.

Written the way a FastAPI service usually is: ``async def`` path operations
with typed query parameters that FastAPI (pydantic) validates, run by
uvicorn with one worker process on uvloop and httptools (what
``uvicorn[standard]`` installs). What each request does is common.py's, so
it matches the lab's HTTP core and the aiohttp server. A parameter FastAPI
rejects gets 400 and one line naming it (FastAPI's own answer would be 422
and JSON), then the connection is closed, as in the lab.

    target/venv-servers/bin/python scripts/python/servers/fastapi_app.py --port 0

prints ``127.0.0.1:PORT`` on its first line; Ctrl-C stops it. Create the
virtual environment first: scripts/python/setup_servers_venv.sh.
"""

from typing import Literal

import fastapi
import httptools
import uvicorn
import uvloop
from fastapi import FastAPI, Query
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, Response

import common

NAME = "py-fastapi"
compute = common.Compute()
# No OpenAPI schema or docs pages: the service answers the lab's two routes only.
app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/health")
async def health():
    return Response(common.HEALTH_BODY, media_type="text/plain; charset=utf-8")


@app.get("/work")
async def work(
    wait_ms: float = Query(0.0, ge=0.0, le=common.MAX_WAIT_MS, allow_inf_nan=False),
    cpu_us: float = Query(0.0, ge=0.0, le=common.MAX_CPU_US, allow_inf_nan=False),
    bytes: int = Query(common.DEFAULT_BODY_BYTES, ge=0, le=common.MAX_BODY_BYTES),
    mode: Literal["own", "block", "offload"] = "own",
):
    await common.handle_work(compute, wait_ms, cpu_us, mode)
    return Response(common.body(bytes), media_type="application/octet-stream")


def refuse(status, reason):
    """The lab's refusal: a status, one line saying why, and a closed connection."""
    return PlainTextResponse(reason + "\n", status_code=status, headers={"Connection": "close"})


@app.exception_handler(RequestValidationError)
async def bad_parameter(request, error):
    first = error.errors()[0] if error.errors() else {}
    where = ".".join(str(part) for part in first.get("loc", ())[1:]) or "request"
    return refuse(400, f"{where}: {first.get('msg', 'invalid')}")


@app.exception_handler(404)
async def no_such_path(request, error):
    return refuse(404, f'no such path "{request.url.path}"; valid: /work, /health')


@app.exception_handler(405)
async def not_allowed(request, error):
    return refuse(405, f"method {request.method} is not allowed; use GET")


def main():
    args = common.arguments(__doc__.splitlines()[0])
    sock = common.listen(args)
    common.announce(
        sock,
        NAME,
        [
            ("python", common.python_version()),
            ("fastapi", fastapi.__version__),
            ("uvicorn", uvicorn.__version__),
            ("uvloop", uvloop.__version__),
            ("httptools", httptools.__version__),
        ],
        f"FastAPI under uvicorn, one worker, uvloop + httptools, idle timeout {args.idle_timeout_s} s",
    )
    config = uvicorn.Config(
        app,
        loop="uvloop",
        http="httptools",
        lifespan="off",
        workers=1,
        access_log=False,
        log_level="warning",
        # The lab's own answers carry neither header.
        server_header=False,
        date_header=False,
        timeout_keep_alive=args.idle_timeout_s,
        timeout_graceful_shutdown=1,
        backlog=common.LISTEN_BACKLOG,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    main()
