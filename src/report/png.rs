//! PNG copies of the charts for slides (cargo feature `png`).
//!
//! The SVG stays the source: resvg rasterises it at twice its size. Text
//! needs a font, so this uses the system's fonts (a sans-serif such as
//! DejaVu Sans or Liberation Sans); the HTML report and the SVG files need
//! none. The feature adds resvg only and leaves plotters' features alone,
//! so `cargo bench` (criterion) builds exactly as without it.

use anyhow::Context;
use resvg::{tiny_skia, usvg};
use std::path::Path;

/// Pixels per SVG unit: sharp on a projector.
const SCALE: f32 = 2.0;

/// Families tried, in order, for the charts' generic `sans-serif`.
const SANS_SERIF: &[&str] = &["DejaVu Sans", "Liberation Sans", "Arial", "Noto Sans"];

/// Rasterises `svg` into a PNG file at `path`.
pub fn write_png(svg: &str, path: &Path) -> anyhow::Result<()> {
    let mut options = usvg::Options::default();
    let fonts = options.fontdb_mut();
    fonts.load_system_fonts();
    let installed = SANS_SERIF.iter().copied().find(|family| {
        fonts
            .faces()
            .any(|face| face.families.iter().any(|(name, _)| name == family))
    });
    if let Some(family) = installed {
        fonts.set_sans_serif_family(family);
    }
    let tree = usvg::Tree::from_str(svg, &options).context("parsing a chart's SVG")?;
    let size = tree.size().to_int_size();
    let (width, height) = (
        (size.width() as f32 * SCALE) as u32,
        (size.height() as f32 * SCALE) as u32,
    );
    let mut pixmap = tiny_skia::Pixmap::new(width, height)
        .with_context(|| format!("allocating a {width}×{height} image"))?;
    resvg::render(
        &tree,
        tiny_skia::Transform::from_scale(SCALE, SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap
        .save_png(path)
        .with_context(|| format!("writing {}", path.display()))
}
