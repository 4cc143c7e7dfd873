//! report.html: one self-contained page (inline CSS, a few lines of inline JS, an inline SVG chart,
//! inline PNG thumbnails, no external assets) — the verdict banner at the top, what failed, the
//! requirement matrix, the video frames the passwords opened, the run's timeline with rig actions,
//! and every scenario's steps and evidence behind `<details>`.

use std::fmt::Write as _;

use crate::record::{RunRecord, ScenarioRecord, StepStatus, Thumbnail, Verdict};

use super::{anchor, escape_xml as e, headline};

const CSS: &str = r#"
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
main{max-width:1200px;margin:0 auto;padding:0 24px 48px}
h1{font-size:20px;margin:24px 0 8px}h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid #d8dce3;padding-bottom:4px}
.banner{padding:18px 24px;color:#fff;font-size:22px;font-weight:650}
.banner small{display:block;font-size:13px;font-weight:400;opacity:.9;margin-top:4px}
.b-pass{background:#1f7a3d}.b-fail{background:#b42318}.b-error{background:#b54708}.b-not-applicable{background:#475467}.b-partial{background:#1f5f7a}
table{border-collapse:collapse;width:100%;background:#fff;margin:6px 0}
th,td{border:1px solid #e1e4ea;padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef0f4;font-weight:600}td.n{text-align:right;font-variant-numeric:tabular-nums}
table.facts td:first-child{width:180px;color:#475467}
table.matrix td:first-child{white-space:nowrap}
.v{display:inline-block;min-width:88px;padding:1px 8px;border-radius:10px;font-size:12px;font-weight:600;text-align:center}
.v-pass{background:#d1fadf;color:#05603a}.v-fail{background:#fee4e2;color:#912018}.v-error{background:#fef0c7;color:#93370d}
.v-not-applicable,.v-none{background:#eaecf0;color:#344054}.v-blocked{background:#f2f4f7;color:#475467;font-style:italic}
.card{background:#fff;border:1px solid #f3b8b2;border-left:5px solid #b42318;padding:10px 14px;margin:10px 0}
.card h3{margin:0 0 6px;font-size:15px}.card dl{display:grid;grid-template-columns:140px 1fr;gap:3px 10px;margin:0}
.card dt{color:#475467}.card dd{margin:0}
code,pre{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{background:#f2f4f7;padding:8px;overflow:auto;white-space:pre-wrap}
details{background:#fff;border:1px solid #e1e4ea;margin:4px 0;padding:4px 10px}
details[open]{padding-bottom:10px}summary{cursor:pointer;padding:3px 0}
tr.key td{background:#fff1f0;font-weight:600}
.s-failed{color:#b42318;font-weight:600}.s-skipped{color:#b54708}
.tools{float:right;font-size:12px}.tools button{margin-left:6px}
svg text{font:11px system-ui,sans-serif;fill:#344054}
.muted{color:#667085}
figure.thumb{display:inline-block;margin:6px 10px 6px 0;background:#fff;border:1px solid #e1e4ea;padding:4px}
figure.thumb img{display:block;image-rendering:auto}figure.thumb figcaption{font-size:12px;color:#475467;max-width:320px}
"#;

const JS: &str = r#"
function setAll(open){document.querySelectorAll('details.scenario').forEach(function(d){d.open=open;});}
"#;

/// The HTML report (not yet redacted; [`super::write_all`] redacts on write).
pub fn render(r: &RunRecord) -> String {
    let overall = r.overall();
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>resetlab report — {}</title><style>{CSS}</style><script>{JS}</script></head><body>\n",
        e(overall.label())
    );
    let (p, f, er, na) = super::counts(r);
    let _ = writeln!(
        h,
        "<div class=\"banner b-{}\" id=\"verdict\">{}<small>{} scenarios: {p} passed, {f} failed, {er} errors, {na} not applicable · {}</small></div>",
        if overall == Verdict::Pass && !r.unestablished().is_empty() { "partial" } else { class(Some(overall)) },
        e(&headline(r)),
        r.scenarios.len(),
        e(&r.lab)
    );
    h.push_str("<main>\n<h1>resetlab certification report</h1>\n<table class=\"facts\">\n");
    for (k, v) in super::markdown::facts(r) {
        let _ = writeln!(h, "<tr><td>{}</td><td>{}</td></tr>", e(k), e(&v));
    }
    h.push_str("</table>\n");

    failures(&mut h, r);
    matrix(&mut h, r);
    if !r.measurements.is_empty() {
        measurements(&mut h, r);
    }
    if !r.thumbnails.is_empty() {
        video(&mut h, r);
    }
    h.push_str("<h2>Timeline</h2>\n");
    h.push_str(&timeline_svg(r));
    scenarios(&mut h, r);
    if !r.errors.is_empty() {
        h.push_str("<h2>Errors</h2>\n<ul>\n");
        for x in &r.errors {
            let _ = writeln!(h, "<li><code>{}</code></li>", e(x));
        }
        h.push_str("</ul>\n");
    }
    h.push_str("</main></body></html>\n");
    h
}

fn class(v: Option<Verdict>) -> &'static str {
    match v {
        Some(Verdict::Pass) => "pass",
        Some(Verdict::Fail) => "fail",
        Some(Verdict::Error) => "error",
        Some(Verdict::NotApplicable) => "not-applicable",
        Some(Verdict::Blocked) => "blocked",
        Some(Verdict::Partial) => "partial",
        None => "none",
    }
}

fn badge(v: Option<Verdict>) -> String {
    format!("<span class=\"v v-{}\">{}</span>", class(v), e(v.map_or("not covered", Verdict::label)))
}

fn failures(h: &mut String, r: &RunRecord) {
    let pointers = r.failing_evidence();
    if pointers.is_empty() {
        return;
    }
    h.push_str("<h2 id=\"failures\">What failed</h2>\n");
    for p in pointers {
        let s = p.scenario;
        let ids: Vec<&str> = p.requirements.iter().map(|i| i.0.as_str()).collect();
        let _ = writeln!(
            h,
            "<div class=\"card\"><h3>{} {} — <a href=\"#{}\">{}</a></h3><dl>",
            badge(Some(s.verdict)),
            e(&ids.join(", ")),
            anchor(&s.feature, s.line),
            e(&s.name)
        );
        for id in &p.requirements {
            let _ =
                writeln!(h, "<dt>Requirement</dt><dd><b>{}</b> {}</dd>", e(&id.0), e(&super::requirement_text(r, id)));
        }
        let _ = writeln!(h, "<dt>Scenario</dt><dd>{} › {} (line {})</dd>", e(&s.feature), e(&s.name), s.line);
        if let Some(step) = p.step {
            let _ = writeln!(h, "<dt>Failing step</dt><dd><b>{} {}</b></dd>", e(&step.keyword), e(&step.text));
            if let Some(err) = &step.error {
                let _ = writeln!(h, "<dt>Error</dt><dd><code>{}</code></dd>", e(err));
            }
        } else if let Some(reason) = &s.reason {
            let _ = writeln!(h, "<dt>Reason</dt><dd><code>{}</code></dd>", e(reason));
        }
        if let Some(b) = s.blame {
            let _ = writeln!(h, "<dt>Blame</dt><dd>{b}</dd>");
        }
        for ev in &p.evidence {
            let _ = writeln!(
                h,
                "<dt>Evidence</dt><dd>+{} ms {}: {} → <b>{}</b></dd>",
                ev.at_ms,
                e(ev.interface.as_deref().unwrap_or("rig")),
                e(&ev.action),
                e(&ev.outcome)
            );
        }
        h.push_str("</dl></div>\n");
    }
}

fn matrix(h: &mut String, r: &RunRecord) {
    h.push_str("<h2 id=\"matrix\">Requirement matrix</h2>\n<table class=\"matrix\"><tr><th>Requirement</th><th>Verdict</th><th>Scenarios</th><th>Passed</th><th>Failed</th><th>Text</th><th>Covered by</th></tr>\n");
    for q in &r.requirements {
        let links: Vec<String> = r
            .scenarios
            .iter()
            .enumerate()
            .filter(|(_, s)| s.requirements.contains(&q.id))
            .map(|(i, s)| {
                format!("<a href=\"#{}\" title=\"{}\">#{}</a>", anchor(&s.feature, s.line), e(&s.name), i + 1)
            })
            .collect();
        let _ = writeln!(
            h,
            "<tr><td><b>{}</b></td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td><td>{}</td></tr>",
            e(&q.id.0),
            if q.missing.is_empty() {
                badge(q.verdict)
            } else {
                format!("{}<br><small>needs {}</small>", badge(q.verdict), e(&q.missing.join("; ")))
            },
            q.scenarios,
            q.passed,
            q.failed,
            e(&q.text),
            links.join(" ")
        );
    }
    h.push_str("</table>\n");
    if super::any_blocked(r) {
        let _ = writeln!(h, "<p class=\"note\">{}.</p>", e(super::BLOCKED_MEANS));
    }
}

fn measurements(h: &mut String, r: &RunRecord) {
    h.push_str("<h2>Measurements</h2>\n<table><tr><th>Scenario</th><th>Measurement</th><th>Value</th><th>Limit</th><th></th></tr>\n");
    for m in &r.measurements {
        let scenario =
            m.scenario.as_ref().and_then(|sr| r.scenarios.iter().find(|s| sr.is(s))).map_or("run", |s| s.name.as_str());
        let n = crate::record::trim_float;
        let limit = m.limit.map_or_else(String::new, |l| format!("{} {}", n(l), m.unit));
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}</td><td class=\"n\">{} {}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            e(scenario),
            e(&m.name),
            n(m.value),
            e(&m.unit),
            e(&limit),
            badge(Some(if m.ok { Verdict::Pass } else { Verdict::Fail }))
        );
    }
    h.push_str("</table>\n");
}

/// When a scenario started, in ms from the start of the run (its first step), if recorded.
fn start_ms(s: &ScenarioRecord) -> Option<u64> {
    s.steps.iter().filter_map(|st| st.started_ms).min()
}

/// The run as a Gantt chart: a bar per scenario coloured by verdict, rig actions (power, link) as
/// ticks on it. Evidence times are relative to the scenario's device session, so their ticks are
/// placed from the scenario's start.
pub fn timeline_svg(r: &RunRecord) -> String {
    const LABEL: f64 = 330.0;
    const WIDTH: f64 = 1140.0;
    const ROW: f64 = 16.0;
    let mut cursor = 0u64;
    let rows: Vec<(&ScenarioRecord, u64)> = r
        .scenarios
        .iter()
        .map(|s| {
            let start = start_ms(s).unwrap_or(cursor);
            cursor = cursor.max(start + s.duration_ms);
            (s, start)
        })
        .collect();
    let end = rows
        .iter()
        .map(|(s, t)| t + s.duration_ms)
        .chain(r.timeline.iter().map(|ev| ev.at_ms))
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let x = |ms: f64| LABEL + (ms / end) * (WIDTH - LABEL - 10.0);
    let height = 30.0 + ROW * rows.len() as f64;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {height}\" width=\"100%\" role=\"img\" aria-label=\"run timeline\">\n"
    );
    // Time axis: five ticks.
    for i in 0..=5 {
        let ms = end * i as f64 / 5.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{0:.1}\" x2=\"{0:.1}\" y1=\"14\" y2=\"{1}\" stroke=\"#e1e4ea\"/><text x=\"{0:.1}\" y=\"11\" text-anchor=\"{3}\">{2:.1} s</text>",
            x(ms),
            height,
            ms / 1000.0,
            if i == 5 { "end" } else { "middle" }
        );
    }
    for (i, (s, start)) in rows.iter().enumerate() {
        let y = 18.0 + ROW * i as f64;
        let color = match s.verdict {
            Verdict::Pass => "#32a55a",
            Verdict::Fail => "#d92d20",
            Verdict::Error | Verdict::Blocked => "#f79009",
            Verdict::NotApplicable | Verdict::Partial => "#98a2b3",
        };
        let name: String = format!("#{} {}", i + 1, s.name).chars().take(52).collect();
        let name = if name.chars().count() < format!("#{} {}", i + 1, s.name).chars().count() {
            format!("{name}…")
        } else {
            name
        };
        let (x0, x1) = (x(*start as f64), x((*start + s.duration_ms) as f64));
        let _ = writeln!(
            svg,
            "<text x=\"4\" y=\"{:.1}\">{}</text><rect x=\"{x0:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" rx=\"2\" fill=\"{color}\"><title>{} — {} ({} ms)</title></rect>",
            y + 11.0,
            e(&name),
            (x1 - x0).max(2.0),
            ROW - 4.0,
            e(&s.name),
            e(s.verdict.label()),
            s.duration_ms
        );
        // Rig actions from the evidence (no interface: power, link, console).
        for ev in s.evidence.iter().filter(|ev| ev.interface.is_none()) {
            let tx = x((*start + ev.at_ms) as f64);
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"3\" height=\"{:.1}\" fill=\"#1d2330\"><title>{} → {}</title></rect>",
                tx - 1.5,
                y - 1.0,
                ROW - 2.0,
                e(&ev.action),
                e(&ev.outcome)
            );
        }
        for ev in r.timeline_of(s) {
            let tx = x(ev.at_ms as f64);
            let _ = writeln!(
                svg,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"3\" height=\"{:.1}\" fill=\"{}\"><title>{} {}{}</title></rect>",
                tx - 1.5,
                y - 1.0,
                ROW - 2.0,
                if ev.ok { "#155eef" } else { "#d92d20" },
                e(&ev.part),
                e(&ev.action),
                e(&ev.readback.as_deref().map(|rb| format!(" (read back: {rb})")).unwrap_or_default())
            );
        }
    }
    svg.push_str("</svg>\n<p class=\"muted\">Bars: scenarios by verdict (green pass, red fail, orange error, grey not applicable). Dark ticks: rig actions (power, network link) with their outcome on hover.</p>\n");
    svg
}

fn scenarios(h: &mut String, r: &RunRecord) {
    h.push_str("<h2 id=\"scenarios\">Scenarios and evidence<span class=\"tools\"><button onclick=\"setAll(true)\">expand all</button><button onclick=\"setAll(false)\">collapse all</button></span></h2>\n");
    let pointers = r.failing_evidence();
    for (i, s) in r.scenarios.iter().enumerate() {
        let open = if matches!(s.verdict, Verdict::Fail | Verdict::Error) { " open" } else { "" };
        let ids: Vec<&str> = s.requirements.iter().map(|i| i.0.as_str()).collect();
        let _ = writeln!(
            h,
            "<details class=\"scenario\" id=\"{}\"{open}><summary>#{} {} {} › {} <span class=\"muted\">(line {}, {} ms · {})</span></summary>",
            anchor(&s.feature, s.line),
            i + 1,
            badge(Some(s.verdict)),
            e(&s.feature),
            e(&s.name),
            s.line,
            s.duration_ms,
            e(&ids.join(", "))
        );
        if let Some(reason) = &s.reason {
            let blame = s.blame.map_or_else(String::new, |b| format!("{b} fault: "));
            let _ = writeln!(h, "<p><b>{}</b><code>{}</code></p>", e(&blame), e(reason));
        }
        if let Some(first) = &s.first_attempt {
            let _ = writeln!(
                h,
                "<p><b>re-run once after a network fault; the first attempt: </b><code>{}</code></p>",
                e(first)
            );
        }
        if !s.steps.is_empty() {
            h.push_str("<table><tr><th>Step</th><th>Status</th><th>Time</th><th>Error</th></tr>\n");
            for st in &s.steps {
                let status = match st.status {
                    StepStatus::Passed => "passed",
                    StepStatus::Failed => "failed",
                    StepStatus::Skipped => "skipped",
                };
                let _ = writeln!(
                    h,
                    "<tr><td>{} {}</td><td class=\"s-{status}\">{status}</td><td class=\"n\">{} ms</td><td>{}</td></tr>",
                    e(&st.keyword),
                    e(&st.text),
                    st.duration_ms,
                    st.error.as_deref().map(|x| format!("<code>{}</code>", e(x))).unwrap_or_default()
                );
            }
            h.push_str("</table>\n");
        }
        let key: Vec<*const crate::record::Evidence> = pointers
            .iter()
            .filter(|p| std::ptr::eq(p.scenario, s))
            .flat_map(|p| p.evidence.iter().map(|ev| *ev as *const _))
            .collect();
        if !s.evidence.is_empty() {
            h.push_str("<table><tr><th>At</th><th>Interface</th><th>Action</th><th>Outcome</th></tr>\n");
            for ev in &s.evidence {
                let cls = if key.contains(&(ev as *const _)) { " class=\"key\"" } else { "" };
                let _ = writeln!(
                    h,
                    "<tr{cls}><td class=\"n\">+{} ms</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    ev.at_ms,
                    e(ev.interface.as_deref().unwrap_or("rig")),
                    e(&ev.action),
                    e(&ev.outcome)
                );
            }
            h.push_str("</table>\n");
        }
        thumbnails(h, r, s);
        let ms: Vec<_> = r.measurements_of(s).collect();
        if !ms.is_empty() {
            h.push_str("<ul>\n");
            for m in ms {
                let _ = writeln!(h, "<li>{}</li>", e(&m.to_string()));
            }
            h.push_str("</ul>\n");
        }
        let console: Vec<_> = r.console_of(s).collect();
        if !console.is_empty() {
            h.push_str("<details><summary>Console</summary><pre>");
            for c in console {
                match &c.power_event {
                    Some(ev) => {
                        let _ = writeln!(h, "<b>{:>8} ms ── {} ──</b>", c.at_ms, e(ev));
                    }
                    None => {
                        let _ = writeln!(h, "{:>8} ms {}", c.at_ms, e(&c.text));
                    }
                }
            }
            h.push_str("</pre></details>\n");
        }
        h.push_str("</details>\n");
    }
}

/// The video frames a scenario kept (the main stream a changed password opened).
fn thumbnails(h: &mut String, r: &RunRecord, s: &ScenarioRecord) {
    for t in r.thumbnails.iter().filter(|t| t.scenario.as_ref().is_some_and(|sr| sr.is(s))) {
        h.push_str(&figure(t, ""));
    }
}

/// Every kept frame at a glance, each linked to its scenario: what the new passwords opened.
fn video(h: &mut String, r: &RunRecord) {
    h.push_str("<h2 id=\"video\">Video the passwords opened</h2>\n<div>\n");
    for t in &r.thumbnails {
        let link = t.scenario.as_ref().map_or_else(String::new, |sr| {
            format!(" · <a href=\"#{}\">{}, line {}</a>", anchor(&sr.feature, sr.line), e(&sr.feature), sr.line)
        });
        h.push_str(&figure(t, &link));
    }
    h.push_str("</div>\n");
}

/// One thumbnail, inline as PNG data so the page stays one file (a record read back from
/// report.json, which names the file but does not carry the bytes, points at the file instead).
fn figure(t: &Thumbnail, extra: &str) -> String {
    use base64::Engine as _;
    let src = if t.png.is_empty() {
        e(&t.file)
    } else {
        format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(&t.png))
    };
    format!(
        "<figure class=\"thumb\"><img src=\"{src}\" width=\"{}\" height=\"{}\" alt=\"{} {}\"><figcaption>{} · +{} ms · <code>{}</code>{extra}</figcaption></figure>\n",
        t.width,
        t.height,
        e(&t.interface),
        e(&t.stream),
        e(&t.caption),
        t.at_ms,
        e(&t.file)
    )
}
