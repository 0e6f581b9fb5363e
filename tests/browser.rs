//! The report in a real browser: headless Chromium opens the page from
//! file://, and the test checks that every chart is there and laid out
//! with a non-zero size, that no request left the machine, and saves a
//! screenshot (target/tmp/browser/page.png) for a person to look at.
//!
//! Where Chromium is missing the test says it was skipped; with the CI
//! environment variable set it fails instead, so CI always runs it.
//! Chromium comes from Debian's `chromium` package (`/usr/bin/chromium`);
//! set AVB_CHROMIUM to use another binary.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("AVB_CHROMIUM") {
        return Some(PathBuf::from(path));
    }
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file())
}

/// Runs Chromium headless with a fresh profile; returns stdout. Killed
/// after two minutes so a hung browser fails the test instead of CI.
fn run_chromium(binary: &Path, profile: &Path, args: &[String]) -> String {
    let mut child = Command::new(binary)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--hide-scrollbars",
            // No name resolves, so nothing the browser itself wants (update
            // checks, sign-in) can leave the machine either.
            "--host-resolver-rules=MAP * ~NOTFOUND",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting chromium");
    let stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || std::io::read_to_string(stdout).unwrap_or_default());
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            assert!(status.success(), "chromium exited with {status}");
            break;
        }
        if started.elapsed() > Duration::from_secs(120) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("chromium did not finish within 120 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    reader.join().unwrap()
}

/// A script that measures every chart after layout and writes the result
/// into the DOM, where --dump-dom shows it.
const PROBE: &str = r#"<script>
(function () {
  // Folded charts count too: open every <details> before measuring.
  Array.prototype.forEach.call(document.querySelectorAll('details'), function (d) { d.open = true; });
  var charts = Array.prototype.map.call(document.querySelectorAll('figure.chart'), function (figure) {
    var svg = figure.querySelector('svg');
    var box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
    return { id: figure.id, width: box.width, height: box.height,
             texts: svg ? svg.querySelectorAll('text').length : 0,
             shapes: svg ? svg.querySelectorAll('polyline, path, circle, line').length : 0 };
  });
  var resources = performance.getEntriesByType('resource').map(function (e) { return e.name; });
  var out = document.createElement('pre');
  out.id = 'probe';
  out.textContent = JSON.stringify({ charts: charts, resources: resources });
  document.body.appendChild(out);
})();
</script>"#;

#[derive(serde::Deserialize, Debug)]
struct Probe {
    charts: Vec<Measured>,
    /// Every resource the page loaded besides itself (Resource Timing).
    resources: Vec<String>,
}

#[derive(serde::Deserialize, Debug)]
struct Measured {
    id: String,
    width: f64,
    height: f64,
    texts: usize,
    shapes: usize,
}

/// What Chromium's network log shows: requests a page started (browser
/// housekeeping is marked "not an origin"), and bytes sent on any socket.
#[derive(Debug, Default)]
struct NetActivity {
    page_requests: Vec<String>,
    bytes_sent_events: usize,
}

fn net_activity(net_log: &str) -> NetActivity {
    let log: serde_json::Value = serde_json::from_str(net_log).expect("the net log is JSON");
    let types = &log["constants"]["logEventTypes"];
    let type_id = |name: &str| types[name].as_u64().unwrap_or(u64::MAX);
    let (start_job, socket_sent, udp_sent) = (
        type_id("URL_REQUEST_START_JOB"),
        type_id("SOCKET_BYTES_SENT"),
        type_id("UDP_BYTES_SENT"),
    );
    let mut activity = NetActivity::default();
    for event in log["events"].as_array().expect("net log events") {
        let kind = event["type"].as_u64().unwrap_or(0);
        if kind == socket_sent || kind == udp_sent {
            activity.bytes_sent_events += 1;
        }
        let params = &event["params"];
        if kind == start_job && params["initiator"] != "not an origin" {
            if let Some(url) = params["url"].as_str() {
                activity.page_requests.push(url.to_string());
            }
        }
    }
    activity
}

/// Loads `page` in Chromium with a network log and returns (DOM, activity).
fn load(browser: &Path, work: &Path, name: &str, page: &Path) -> (String, NetActivity) {
    let net_log = work.join(format!("{name}-net-log.json"));
    let dom = run_chromium(
        browser,
        &work.join(format!("{name}-profile")),
        &[
            format!("--log-net-log={}", net_log.display()),
            "--net-log-capture-mode=Everything".into(),
            "--window-size=1280,900".into(),
            "--dump-dom".into(),
            format!("file://{}", page.display()),
        ],
    );
    let activity = net_activity(&std::fs::read_to_string(&net_log).unwrap());
    (dom, activity)
}

#[test]
fn the_page_renders_offline_in_chromium() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed, and CI must run the browser test (apt-get install chromium)");
        }
        eprintln!("skipped: chromium is not installed (apt-get install chromium); the browser test did not run");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("report");
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_async-vs-blocking"))
        .arg("report")
        .arg("--input")
        .arg(&fixture)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let chart_files = std::fs::read_dir(&out)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|x| x == "svg")
        })
        .count();
    assert!(chart_files > 0);

    // 1. Every chart present and laid out with a real size.
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    let probe_page = out.join("probe.html");
    std::fs::write(
        &probe_page,
        page.replacen("</body>", &format!("{PROBE}\n</body>"), 1),
    )
    .unwrap();
    let (dom, activity) = load(&browser, work.path(), "report", &probe_page);
    let start = dom.find("<pre id=\"probe\">").expect("the probe ran") + "<pre id=\"probe\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    let json = dom[start..end]
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&");
    let probe: Probe = serde_json::from_str(&json).unwrap();
    assert_eq!(probe.charts.len(), chart_files, "{probe:?}");
    for chart in &probe.charts {
        assert!(
            chart.width > 300.0 && chart.height > 150.0,
            "chart {} is laid out at {}×{}",
            chart.id,
            chart.width,
            chart.height
        );
        assert!(
            chart.texts > 10 && chart.shapes > 5,
            "chart {} looks empty: {chart:?}",
            chart.id
        );
    }

    // 2. No request left the machine: the page loaded nothing besides
    // itself, started no network request, and no socket sent a byte.
    assert_eq!(
        probe.resources,
        Vec::<String>::new(),
        "the page loaded resources"
    );
    assert_eq!(
        activity.page_requests,
        Vec::<String>::new(),
        "the page made requests"
    );
    assert_eq!(activity.bytes_sent_events, 0, "a socket sent bytes");
    // The same checks catch a page that does reach out (to a name that
    // never resolves, so even this control sends nothing).
    let control = work.path().join("control.html");
    std::fs::write(
        &control,
        "<!DOCTYPE html><html><body><img src=\"http://remote.invalid/chart.png\"></body></html>",
    )
    .unwrap();
    let (_, control_activity) = load(&browser, work.path(), "control", &control);
    assert_eq!(
        control_activity.page_requests,
        vec!["http://remote.invalid/chart.png".to_string()],
        "the network check no longer sees a page's requests"
    );

    // 3. A screenshot for a person to look at.
    let shots = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&shots).unwrap();
    let screenshot = shots.join("page.png");
    let _ = std::fs::remove_file(&screenshot);
    run_chromium(
        &browser,
        &work.path().join("profile-shot"),
        &[
            format!("--screenshot={}", screenshot.display()),
            "--window-size=1280,2400".into(),
            format!("file://{}", out.join("index.html").display()),
        ],
    );
    let png = std::fs::read(&screenshot).unwrap();
    assert!(
        png.len() > 10_000 && png.starts_with(b"\x89PNG"),
        "screenshot is not a PNG"
    );
    eprintln!("screenshot: {}", screenshot.display());
}

/// Measures the laid-out page (inside a frame of the given width when it
/// runs in one) and writes the figures into the top document, where
/// --dump-dom shows them. Height, width and where the answers start are
/// measured as the page opens (reference folded); then every `<details>`
/// is opened, and the width is measured again and chart text as drawn:
/// the SVG font size times the scale the SVG is shown at, folded charts
/// included.
const LAYOUT_PROBE: &str = r#"<script>
window.addEventListener('load', function () {
  var doc = document.documentElement;
  var folded = { scroll_width: doc.scrollWidth, height: doc.scrollHeight };
  var answers = document.getElementById('answers');
  var answers_top = answers ? answers.getBoundingClientRect().top + window.scrollY : -1;
  var charts_folded = document.querySelectorAll('figure.chart').length;
  Array.prototype.forEach.call(document.querySelectorAll('details'), function (d) { d.open = true; });
  var smallest = 1e9;
  Array.prototype.forEach.call(document.querySelectorAll('figure.chart svg text'), function (text) {
    var m = text.getScreenCTM();
    if (!m) { return; }
    var size = parseFloat(getComputedStyle(text).fontSize) * Math.hypot(m.a, m.b);
    if (size > 0 && size < smallest) { smallest = size; }
  });
  var out = document.createElement('pre');
  out.id = 'layout';
  out.textContent = JSON.stringify({
    width: window.innerWidth, scroll_width: folded.scroll_width, height: folded.height,
    answers_top: answers_top, unfolded_scroll_width: doc.scrollWidth,
    unfolded_height: doc.scrollHeight, charts: charts_folded,
    smallest_chart_text: smallest });
  var top = (window.parent && window.parent !== window) ? window.parent.document : document;
  top.body.appendChild(out);
});
</script>"#;

#[derive(serde::Deserialize, Debug)]
struct Layout {
    width: f64,
    scroll_width: f64,
    height: f64,
    answers_top: f64,
    /// With every `<details>` open.
    unfolded_scroll_width: f64,
    unfolded_height: f64,
    /// Charts on the page (`figure.chart`), folded or not.
    charts: usize,
    smallest_chart_text: f64,
}

fn layout_of(dom: &str) -> Layout {
    let start = dom
        .find("<pre id=\"layout\">")
        .expect("the layout probe ran")
        + "<pre id=\"layout\">".len();
    let end = start + dom[start..].find("</pre>").unwrap();
    serde_json::from_str(&dom[start..end].replace("&quot;", "\"")).unwrap()
}

#[test]
fn the_default_page_answers_first_and_fits_a_projector_and_a_phone() {
    let Some(browser) = chromium() else {
        if std::env::var_os("CI").is_some() {
            panic!("chromium is not installed, and CI must run the browser test (apt-get install chromium)");
        }
        eprintln!("skipped: chromium is not installed (apt-get install chromium); the browser test did not run");
        return;
    };
    // The default report's data with its claims (the recorded `report`
    // run of docs/figures/default-report copied unchanged: cells, claims,
    // servers, timers, costs and doctor beside each other).
    let work = tempfile::tempdir().unwrap();
    let out = work.path().join("report");
    let fixture =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/default/results.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_async-vs-blocking"))
        .arg("report")
        .arg("--input")
        .arg(&fixture)
        .arg("--out")
        .arg(&out)
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let page = std::fs::read_to_string(out.join("index.html")).unwrap();
    let probe = out.join("layout.html");
    std::fs::write(
        &probe,
        page.replacen("</body>", &format!("{LAYOUT_PROBE}\n</body>"), 1),
    )
    .unwrap();

    // 1400 px: a projector or a laptop.
    let wide = layout_of(&run_chromium(
        &browser,
        &work.path().join("wide-profile"),
        &[
            "--window-size=1400,900".into(),
            "--dump-dom".into(),
            format!("file://{}", probe.display()),
        ],
    ));
    assert!(
        std::fs::read_to_string(out.join("index.html"))
            .unwrap()
            .contains("id=\"claims\""),
        "the fixture's claims are on the page"
    );
    assert!(wide.charts > 10, "{wide:?}");
    assert!(
        wide.unfolded_height > wide.height,
        "opening the folded sections added nothing: {wide:?}"
    );
    assert!(
        wide.scroll_width <= wide.width && wide.unfolded_scroll_width <= wide.width,
        "overflow at 1400 px: {wide:?}"
    );
    assert!(
        wide.height < 13_000.0,
        "the page is {} px tall at 1400 px",
        wide.height
    );
    assert!(
        (0.0..900.0).contains(&wide.answers_top),
        "the decision table starts at {} px",
        wide.answers_top
    );

    // 390 px: a phone. Headless windows are at least 500 px wide, so the
    // page runs in a 390 px frame (file:// frames may read each other only
    // with --allow-file-access-from-files).
    let frame = out.join("phone.html");
    std::fs::write(
        &frame,
        "<!DOCTYPE html><html><body style=\"margin:0\"><iframe src=\"layout.html\" \
         style=\"width:390px;height:900px;border:0\"></iframe></body></html>",
    )
    .unwrap();
    let phone = layout_of(&run_chromium(
        &browser,
        &work.path().join("phone-profile"),
        &[
            "--allow-file-access-from-files".into(),
            "--window-size=600,900".into(),
            "--dump-dom".into(),
            format!("file://{}", frame.display()),
        ],
    ));
    assert_eq!(phone.width, 390.0, "{phone:?}");
    assert!(
        phone.scroll_width <= phone.width && phone.unfolded_scroll_width <= phone.width,
        "overflow at 390 px: {phone:?}"
    );
    assert!(
        phone.smallest_chart_text >= 11.0,
        "chart text is {:.1} px at 390 px",
        phone.smallest_chart_text
    );
    eprintln!("layout at 1400 px: {wide:?}; at 390 px: {phone:?}");
}
