//! A run as one self-contained HTML page: the title and the plain sentence
//! why, an inline SVG sequence diagram drawn here (no script, no font, no
//! stylesheet from anywhere), and the timeline as a table. A
//! `Content-Security-Policy` of `default-src 'none'` makes the browser
//! refuse any network request the page could make.
//!
//! Stable hooks for tests and scripts: the table is `table#timeline`, one
//! `tr.line` per timeline line (`data-line` = its index, `data-t-ms`, and
//! class `violation` on the line that breaks the property); the diagram is
//! `svg#sequence`, one `g.msg` per line with the same `data-line` (and class
//! `violation` likewise).

use super::diagram::{self, Kind, Participant};
use super::{Explanation, Shown};
use crate::duration::Human;
use crate::model::properties;

/// Escapes text for HTML and SVG (element content and attribute values).
pub fn escape(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

const STYLE: &str = "
body { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.35em; }
h2 { font-size: 1.1em; margin-top: 1.6em; }
p.summary { font-size: 1.05em; }
p.meta { color: #555; font-size: 0.9em; }
table#timeline { border-collapse: collapse; font-size: 0.85em; }
table#timeline th, table#timeline td { border-bottom: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
table#timeline td.t { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
table#timeline td.knew { color: #666; }
tr.violation td { background: #ffd0d0; font-weight: 600; }
.diagram { overflow-x: auto; border: 1px solid #eee; padding: 4px; }
svg text { font-family: system-ui, -apple-system, 'Segoe UI', sans-serif; }
";

const LEFT: f64 = 64.0;
const COL: f64 = 176.0;
const ROW: f64 = 30.0;
const TOP: f64 = 64.0;
const CHAR: f64 = 6.1;

fn cx(p: Participant) -> f64 {
    LEFT + COL * p.column() as f64 + COL / 2.0
}

fn text_width(s: &str) -> f64 {
    s.chars().count() as f64 * CHAR + 12.0
}

/// The inline SVG sequence diagram of `e`'s run.
pub fn svg(e: &Explanation) -> String {
    let entries = e.entries();
    let width = LEFT + COL * Participant::ALL.len() as f64 + 16.0;
    let height = TOP + ROW * (entries.len().max(1) as f64) + 24.0;
    let mut s = format!(
        "<svg id=\"sequence\" xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" role=\"img\" aria-label=\"sequence diagram\">\n"
    );
    s.push_str(
        "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"9\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#333\"/></marker></defs>\n",
    );
    // The violation band first, so everything else draws over it.
    for (i, entry) in entries.iter().enumerate() {
        if entry.violation {
            let y = TOP + ROW * i as f64;
            s.push_str(&format!(
                "<rect class=\"violation\" x=\"0\" y=\"{y}\" width=\"{width}\" height=\"{ROW}\" fill=\"#ffc8c8\"/>\n"
            ));
        }
    }
    // Lifelines and their heads.
    for p in Participant::ALL {
        let x = cx(p);
        s.push_str(&format!(
            "<g class=\"participant\"><rect x=\"{}\" y=\"8\" width=\"{}\" height=\"30\" rx=\"4\" fill=\"#eef3fb\" stroke=\"#5a7bb5\"/><text x=\"{x}\" y=\"28\" text-anchor=\"middle\" font-size=\"12\" font-weight=\"600\">{}</text><line x1=\"{x}\" y1=\"38\" x2=\"{x}\" y2=\"{}\" stroke=\"#9ab\" stroke-dasharray=\"4 3\"/></g>\n",
            x - COL / 2.0 + 8.0,
            COL - 16.0,
            escape(p.name()),
            height - 8.0
        ));
    }
    for (i, entry) in entries.iter().enumerate() {
        let m = diagram::message(entry);
        let y = TOP + ROW * i as f64;
        let knew = format!("proxy knew: {}", diagram::knew_line(&entry.knew));
        s.push_str(&format!(
            "<g class=\"msg{}\" data-line=\"{i}\"><title>{}</title>",
            if m.violation { " violation" } else { "" },
            escape(&knew)
        ));
        s.push_str(&format!(
            "<text x=\"6\" y=\"{}\" font-size=\"11\" fill=\"#666\">{}</text>",
            y + 18.0,
            escape(&Human(entry.t_ms).to_string())
        ));
        // The label without its "[t]" prefix: the time has its own column.
        let label = m
            .label
            .split_once("] ")
            .map_or(m.label.as_str(), |(_, l)| l)
            .to_string();
        let label = if m.violation {
            format!("✗ {label}")
        } else {
            label
        };
        let tw = text_width(&label);
        let place = |mid: f64| -> f64 {
            (mid - tw / 2.0)
                .max(LEFT + 2.0)
                .min(width - tw - 2.0)
                .max(2.0)
        };
        let weight = if m.violation { "700" } else { "400" };
        let colour = if m.violation { "#a00" } else { "#222" };
        match m.kind {
            Kind::Note => {
                let (a, b) = (cx(m.from).min(cx(m.to)), cx(m.from).max(cx(m.to)));
                let w = (b - a + COL - 24.0).max(tw);
                let x = ((a + b) / 2.0 - w / 2.0).min(width - w - 2.0).max(2.0);
                s.push_str(&format!(
                    "<rect x=\"{x}\" y=\"{}\" width=\"{w}\" height=\"{}\" fill=\"#fff8c4\" stroke=\"#c9b458\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" font-weight=\"{weight}\" fill=\"{colour}\">{}</text>",
                    y + 4.0,
                    ROW - 8.0,
                    x + 6.0,
                    y + 19.0,
                    escape(&label)
                ));
            }
            _ if m.from == m.to => {
                let x = cx(m.from);
                s.push_str(&format!(
                    "<path d=\"M{x},{} h28 v10 h-28\" fill=\"none\" stroke=\"#333\" marker-end=\"url(#arrow)\"/><text x=\"{}\" y=\"{}\" font-size=\"11\" font-weight=\"{weight}\" fill=\"{colour}\" paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\">{}</text>",
                    y + 10.0,
                    x + 34.0,
                    y + 19.0,
                    escape(&label)
                ));
            }
            kind => {
                let (x1, x2) = (cx(m.from), cx(m.to));
                let dash = if kind == Kind::Reply {
                    " stroke-dasharray=\"6 4\""
                } else {
                    ""
                };
                let tx = place((x1 + x2) / 2.0);
                s.push_str(&format!(
                    "<line x1=\"{x1}\" y1=\"{}\" x2=\"{x2}\" y2=\"{}\" stroke=\"#333\"{dash} marker-end=\"url(#arrow)\"/><text x=\"{tx}\" y=\"{}\" font-size=\"11\" font-weight=\"{weight}\" fill=\"{colour}\" paint-order=\"stroke\" stroke=\"#fff\" stroke-width=\"3\">{}</text>",
                    y + 22.0,
                    y + 22.0,
                    y + 16.0,
                    escape(&label)
                ));
            }
        }
        s.push_str("</g>\n");
    }
    s.push_str("</svg>\n");
    s
}

/// The page.
pub fn render(e: &Explanation) -> String {
    let mut s = String::new();
    s.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    s.push_str("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n");
    s.push_str(&format!("<title>{}</title>\n", escape(&e.title)));
    s.push_str(&format!("<style>{STYLE}</style>\n</head>\n<body>\n"));
    s.push_str(&format!("<h1>{}</h1>\n", escape(&e.title)));
    let lead = match e.shown {
        Shown::Counterexample => "Why it breaks the property: ",
        _ => "",
    };
    s.push_str(&format!(
        "<p class=\"summary\">{}{}</p>\n",
        lead,
        escape(&e.summary)
    ));
    s.push_str(&format!(
        "<p class=\"meta\">Policy <b>{}</b>: {}<br>Environment <b>{}</b>: {}<br>Property <b>{}</b>: {}</p>\n",
        escape(&e.world.policy.name),
        escape(&e.world.policy.summary),
        escape(&e.world.env.name),
        escape(&e.world.env.summary),
        escape(e.property),
        escape(match properties::why(e.property) {
            "" => "",
            w => w,
        })
    ));
    let entries = e.entries();
    if !entries.is_empty() {
        s.push_str("<h2>Sequence diagram</h2>\n<div class=\"diagram\">\n");
        s.push_str(&svg(e));
        s.push_str("</div>\n<h2>Timeline</h2>\n");
        s.push_str("<table id=\"timeline\">\n<thead><tr><th></th><th>t</th><th>who</th><th>what</th><th>proxy knew</th><th>container</th></tr></thead>\n<tbody>\n");
        for (i, entry) in entries.iter().enumerate() {
            s.push_str(&format!(
                "<tr class=\"line{}\" data-line=\"{i}\" data-t-ms=\"{}\"><td>{}</td><td class=\"t\">{}</td><td>{}</td><td class=\"what\">{}</td><td class=\"knew\">{}</td><td>{}</td></tr>\n",
                if entry.violation { " violation" } else { "" },
                entry.t_ms,
                if entry.violation { "✗" } else { "" },
                escape(&Human(entry.t_ms).to_string()),
                escape(entry.actor.word()),
                escape(&entry.detail),
                escape(&diagram::knew_line(&entry.knew)),
                escape(entry.container),
            ));
        }
        s.push_str("</tbody>\n</table>\n");
    }
    s.push_str(&format!(
        "<p class=\"meta\">Generated by livecheck {} (<code>livecheck explain</code>).</p>\n</body>\n</html>\n",
        env!("CARGO_PKG_VERSION")
    ));
    s
}
