//! The sweep's picture: one heatmap panel per property over the two varied
//! knobs (one knob: a strip), drawn with `plotters` as SVG or PNG.
//!
//! A cell is green where the property holds, red where it is violated,
//! amber where the search was inconclusive, grey where the point's policy
//! or environment is invalid. In the `dead_detected_within` panel a cell
//! where the property holds is coloured by the worst-case detection latency
//! (light: fast, dark blue: slow) and labelled with it. Every cell also
//! carries a text mark (✓ ✗ ? or the latency), so the picture does not
//! depend on telling colours apart.
//!
//! Text needs a TrueType font to measure (and, for PNG, to draw): the first
//! of `$LIVECHECK_FONT`, DejaVu Sans, Liberation Sans or any `.ttf` under
//! the usual font directories. Without one, plotting is refused up front.

use super::output::{PointResult, Status, SweepOutput, VaryHeader, SHORT};
use crate::error::InputError;
use crate::model::properties::CONTRACT;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The picture formats, by file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlotFormat {
    /// `.svg`
    Svg,
    /// `.png`
    Png,
}

impl PlotFormat {
    /// The format a path's extension asks for; an error for any other.
    pub fn of(path: &Path) -> Result<PlotFormat, InputError> {
        match path
            .extension()
            .map(|e| e.to_string_lossy().to_ascii_lowercase())
            .as_deref()
        {
            Some("svg") => Ok(PlotFormat::Svg),
            Some("png") => Ok(PlotFormat::Png),
            _ => Err(InputError::new(format!(
                "--plot {}: the file name must end in .svg or .png",
                path.display()
            ))),
        }
    }
}

const HOLDS: RGBColor = RGBColor(26, 152, 80);
const VIOLATED: RGBColor = RGBColor(215, 48, 39);
const INCONCLUSIVE: RGBColor = RGBColor(253, 198, 80);
const INVALID: RGBColor = RGBColor(215, 215, 215);
const FAILED: RGBColor = RGBColor(40, 40, 40);

/// Sequential palette for the detection latency (YlGnBu): fast → slow.
const LATENCY: [(u8, u8, u8); 5] = [
    (255, 255, 204),
    (161, 218, 180),
    (65, 182, 196),
    (44, 127, 184),
    (37, 52, 148),
];

fn latency_colour(t: f64) -> RGBColor {
    let t = t.clamp(0.0, 1.0) * (LATENCY.len() - 1) as f64;
    let i = (t.floor() as usize).min(LATENCY.len() - 2);
    let f = t - i as f64;
    let (a, b) = (LATENCY[i], LATENCY[i + 1]);
    let mix = |x: u8, y: u8| (f64::from(x) + (f64::from(y) - f64::from(x)) * f).round() as u8;
    RGBColor(mix(a.0, b.0), mix(a.1, b.1), mix(a.2, b.2))
}

fn ink_on(c: RGBColor) -> RGBColor {
    let lum = 0.299 * f64::from(c.0) + 0.587 * f64::from(c.1) + 0.114 * f64::from(c.2);
    if lum < 140.0 {
        WHITE
    } else {
        BLACK
    }
}

const FONT_DIRS: [&str; 6] = [
    "/usr/share/fonts",
    "/usr/local/share/fonts",
    "/usr/X11R6/lib/X11/fonts",
    "/Library/Fonts",
    "/System/Library/Fonts",
    "C:\\Windows\\Fonts",
];

const PREFERRED: [&str; 4] = [
    "DejaVuSans.ttf",
    "LiberationSans-Regular.ttf",
    "Arial.ttf",
    "arial.ttf",
];

fn find_ttf(dir: &Path, depth: usize, name: Option<&str>) -> Option<PathBuf> {
    let entries = std::fs::read_dir(dir).ok()?;
    let mut subdirs = Vec::new();
    let mut files: Vec<PathBuf> = Vec::new();
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            subdirs.push(p);
        } else {
            files.push(p);
        }
    }
    files.sort();
    subdirs.sort();
    for f in &files {
        let fname = f.file_name().map(|n| n.to_string_lossy().into_owned());
        let ok = match name {
            Some(n) => fname.as_deref() == Some(n),
            None => f.extension().is_some_and(|x| x.eq_ignore_ascii_case("ttf")),
        };
        if ok {
            return Some(f.clone());
        }
    }
    if depth == 0 {
        return None;
    }
    subdirs.iter().find_map(|d| find_ttf(d, depth - 1, name))
}

/// The font file the picture's text uses: `$LIVECHECK_FONT`, else a
/// well-known sans font, else any `.ttf` in the usual font directories.
pub fn font_file() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("LIVECHECK_FONT") {
        return Some(PathBuf::from(p));
    }
    for name in PREFERRED {
        for dir in FONT_DIRS {
            if let Some(p) = find_ttf(Path::new(dir), 4, Some(name)) {
                return Some(p);
            }
        }
    }
    FONT_DIRS
        .iter()
        .find_map(|dir| find_ttf(Path::new(dir), 4, None))
}

/// Loads and registers the font once. Errors say how to get one.
pub fn ensure_font() -> Result<(), InputError> {
    static LOADED: OnceLock<Result<(), String>> = OnceLock::new();
    LOADED
        .get_or_init(|| {
            let path = font_file().ok_or_else(|| {
                "--plot needs a TrueType font to lay out its labels and none was found under \
                 /usr/share/fonts: install one (Debian/Ubuntu: apt-get install fonts-dejavu-core) \
                 or set LIVECHECK_FONT=/path/to/font.ttf"
                    .to_owned()
            })?;
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("cannot read font {}: {e}", path.display()))?;
            let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
            plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).map_err(|_| {
                format!(
                    "{} is not a TrueType/OpenType font (set LIVECHECK_FONT to one)",
                    path.display()
                )
            })
        })
        .clone()
        .map_err(InputError::new)
}

/// Checks up front (before any point is run) that `--plot` can be drawn:
/// the extension, at most two varied keys, a font, an existing directory.
pub fn preflight(path: &Path, varied: usize) -> Result<PlotFormat, InputError> {
    let format = PlotFormat::of(path)?;
    if varied > 2 {
        return Err(InputError::new(format!(
            "--plot draws heatmaps over one or two varied keys; this sweep varies {varied} (use --format csv/json for more)"
        )));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if !dir.is_dir() {
            return Err(InputError::new(format!(
                "--plot {}: directory {} does not exist",
                path.display(),
                dir.display()
            )));
        }
    }
    ensure_font()?;
    Ok(format)
}

/// Draws the picture of `out` into `path` (SVG or PNG by extension).
pub fn plot(out: &SweepOutput, path: &Path) -> Result<(), InputError> {
    let format = preflight(path, out.sweep.vary.len())?;
    let layout = Layout::of(out);
    let fail = |e: String| InputError::new(format!("cannot draw {}: {e}", path.display()));
    match format {
        PlotFormat::Svg => {
            let root = SVGBackend::new(path, (layout.width, layout.height)).into_drawing_area();
            draw(&root, out, &layout).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
        PlotFormat::Png => {
            let root = BitMapBackend::new(path, (layout.width, layout.height)).into_drawing_area();
            draw(&root, out, &layout).map_err(fail)?;
            root.present().map_err(|e| fail(e.to_string()))
        }
    }
}

struct Layout {
    nx: usize,
    ny: usize,
    cols: usize,
    rows: usize,
    title_h: u32,
    width: u32,
    height: u32,
}

impl Layout {
    fn of(out: &SweepOutput) -> Layout {
        let nx = out.sweep.vary.first().map_or(1, VaryHeader::len).max(1);
        let ny = out.sweep.vary.get(1).map_or(1, VaryHeader::len).max(1);
        let panel_w = (170 + 64 * nx as u32).clamp(380, 1400);
        let panel_h = (140 + 38 * ny as u32).clamp(180, 1000);
        let panels = CONTRACT.len() + 1; // + legend
        let cols = if panel_w > 700 { 2 } else { 4 };
        let rows = panels.div_ceil(cols);
        let title_h = 70;
        Layout {
            nx,
            ny,
            cols,
            rows,
            title_h,
            width: panel_w * cols as u32,
            height: title_h + panel_h * rows as u32,
        }
    }
}

/// What one cell shows: its colour and its text.
fn cell(p: &PointResult, property: &str, range: (u64, u64)) -> (RGBColor, String) {
    match p.status {
        Status::Invalid => (INVALID, "invalid".into()),
        Status::Error => (FAILED, "ERROR".into()),
        Status::Checked => {
            let verdict = p.verdict(property).unwrap_or("inconclusive");
            let detect = property == "dead_detected_within";
            match (verdict, detect, p.worst_case_ms) {
                ("holds", true, Some(ms)) => (
                    latency_colour(latency_t(ms, range)),
                    crate::duration::format(ms),
                ),
                ("holds", _, _) => (HOLDS, "✓".into()),
                ("violated", true, Some(ms)) => {
                    (VIOLATED, format!("✗ ≥{}", crate::duration::format(ms)))
                }
                ("violated", _, _) => (VIOLATED, "✗".into()),
                _ => (INCONCLUSIVE, "?".into()),
            }
        }
    }
}

type DrawResult = Result<(), String>;

/// An axis of `n` cells: values `0.0..n`, cell `i` spanning `[i, i+1]`,
/// one label at each cell's centre.
#[derive(Clone)]
struct Cells(usize);

impl Ranged for Cells {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let n = self.0.max(1) as f64;
        limit.0 + (f64::from(limit.1 - limit.0) * value / n).round() as i32
    }

    fn key_points<H: KeyPointHint>(&self, _hint: H) -> Vec<f64> {
        (0..self.0).map(|i| i as f64 + 0.5).collect()
    }

    fn range(&self) -> std::ops::Range<f64> {
        0.0..self.0 as f64
    }
}

fn draw<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    out: &SweepOutput,
    layout: &Layout,
) -> DrawResult {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    root.fill(&WHITE).map_err(e)?;
    let h = &out.sweep;
    let (title_area, body) = root.split_vertically(layout.title_h);
    let title = format!(
        "{} × {}: {}",
        h.policy,
        h.environment,
        h.vary
            .iter()
            .map(|v| format!("{} {}..{}", v.key, v.label(v.from), v.label(v.to)))
            .collect::<Vec<_>>()
            .join("  ×  ")
    );
    title_area
        .draw(&Text::new(
            title,
            (12, 12),
            ("sans-serif", 26).into_font().color(&BLACK),
        ))
        .map_err(e)?;
    title_area
        .draw(&Text::new(
            format!(
                "{}. Green: holds; red: violated; amber: inconclusive; grey: invalid settings. Detection panel: worst-case latency where it holds.",
                super::output::Counts::of(&out.points)
            ),
            (12, 42),
            ("sans-serif", 16).into_font().color(&RGBColor(80, 80, 80)),
        ))
        .map_err(e)?;

    // Every worst-case latency where dead_detected_within holds, sorted.
    let mut latencies: Vec<u64> = out
        .points
        .iter()
        .filter(|p| p.verdict("dead_detected_within") == Some("holds"))
        .filter_map(|p| p.worst_case_ms)
        .collect();
    latencies.sort_unstable();
    latencies.dedup();
    let range = (
        latencies.first().copied().unwrap_or(0),
        latencies.last().copied().unwrap_or(0),
    );
    let panels = body.split_evenly((layout.rows, layout.cols));
    for (k, name) in CONTRACT.iter().enumerate() {
        draw_panel(&panels[k], out, layout, name, SHORT[k], range)?;
    }
    draw_legend(&panels[CONTRACT.len()], &latencies)?;
    Ok(())
}

fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    out: &SweepOutput,
    layout: &Layout,
    property: &str,
    short: &str,
    range: (u64, u64),
) -> DrawResult {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    let h = &out.sweep;
    let xv = h.vary.first();
    let yv = h.vary.get(1);
    let mut chart = ChartBuilder::on(area)
        .caption(
            format!("{property} ({short})"),
            ("sans-serif", 19).into_font(),
        )
        .margin(10)
        .x_label_area_size(42)
        .y_label_area_size(if yv.is_some() { 64 } else { 20 })
        .build_cartesian_2d(Cells(layout.nx), Cells(layout.ny))
        .map_err(e)?;
    let label = |v: Option<&VaryHeader>, at: f64| -> String {
        match v {
            Some(v) => {
                let i = (at - 0.5).round();
                if i < 0.0 {
                    return String::new();
                }
                v.label(v.from + i as i64 * v.step)
            }
            None => String::new(),
        }
    };
    let x_fmt = |x: &f64| label(xv, *x);
    let y_fmt = |y: &f64| label(yv, *y);
    chart
        .configure_mesh()
        .disable_mesh()
        .x_desc(xv.map_or(String::new(), |v| v.key.clone()))
        .y_desc(yv.map_or(String::new(), |v| v.key.clone()))
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(("sans-serif", 15).into_font())
        .axis_desc_style(("sans-serif", 15).into_font())
        .draw()
        .map_err(e)?;
    let text_size = if layout.nx > 12 { 12 } else { 15 };
    for p in &out.points {
        let ix = xv
            .and_then(|v| p.values.get(&v.key).and_then(|&x| v.index_of(x)))
            .unwrap_or(0) as f64;
        let iy = yv
            .and_then(|v| p.values.get(&v.key).and_then(|&y| v.index_of(y)))
            .unwrap_or(0) as f64;
        let (colour, text) = cell(p, property, range);
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(ix, iy), (ix + 1.0, iy + 1.0)],
                colour.filled(),
            )))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(Rectangle::new(
                [(ix, iy), (ix + 1.0, iy + 1.0)],
                WHITE.stroke_width(1),
            )))
            .map_err(e)?;
        chart
            .draw_series(std::iter::once(Text::new(
                text,
                (ix + 0.5, iy + 0.5),
                ("sans-serif", text_size)
                    .into_font()
                    .color(&ink_on(colour))
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            )))
            .map_err(e)?;
    }
    Ok(())
}

fn draw_legend<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, latencies: &[u64]) -> DrawResult {
    let e = |x: DrawingAreaErrorKind<DB::ErrorType>| x.to_string();
    let font = ("sans-serif", 16).into_font();
    let mut y = 24;
    area.draw(&Text::new(
        "legend",
        (20, y),
        ("sans-serif", 19).into_font(),
    ))
    .map_err(e)?;
    y += 28;
    for (colour, text) in [
        (HOLDS, "✓ holds"),
        (
            VIOLATED,
            "✗ violated (detect: the worst case is at least the latency shown)",
        ),
        (INCONCLUSIVE, "? inconclusive (search stopped by a bound)"),
        (INVALID, "invalid: the settings fail validation"),
    ] {
        area.draw(&Rectangle::new([(20, y), (40, y + 16)], colour.filled()))
            .map_err(e)?;
        area.draw(&Text::new(text, (48, y + 1), font.clone()))
            .map_err(e)?;
        y += 24;
    }
    y += 8;
    area.draw(&Text::new(
        "detect ✓: worst-case detection latency",
        (20, y),
        font.clone(),
    ))
    .map_err(e)?;
    y += 24;
    let (Some(&lo), Some(&hi)) = (latencies.first(), latencies.last()) else {
        area.draw(&Text::new("(no point where it holds)", (20, y), font))
            .map_err(e)?;
        return Ok(());
    };
    // Each latency that occurs, or five evenly spaced ones if many do.
    let shown: Vec<u64> = if latencies.len() <= 6 {
        latencies.to_vec()
    } else {
        (0..5).map(|k| lo + (hi - lo) * k / 4).collect()
    };
    for (k, &ms) in shown.iter().enumerate() {
        let x = 20 + k as i32 * 62;
        let c = latency_colour(latency_t(ms, (lo, hi)));
        area.draw(&Rectangle::new([(x, y), (x + 60, y + 22)], c.filled()))
            .map_err(e)?;
        area.draw(&Text::new(
            crate::duration::format(ms),
            (x + 30, y + 11),
            ("sans-serif", 14)
                .into_font()
                .color(&ink_on(c))
                .pos(Pos::new(HPos::Center, VPos::Center)),
        ))
        .map_err(e)?;
    }
    Ok(())
}

/// Where a latency falls in the palette: 0 fastest, 1 slowest, ½ when all
/// are equal.
fn latency_t(ms: u64, (lo, hi): (u64, u64)) -> f64 {
    if hi > lo {
        (ms.saturating_sub(lo)) as f64 / (hi - lo) as f64
    } else {
        0.5
    }
}
