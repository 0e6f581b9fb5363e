//! One colour per model, the same in every chart and table of the report.
//!
//! Colours come from the Okabe–Ito set (readable with the common forms of
//! colour blindness), plus a grey and a brown. Blocking models are blues and
//! greys, async runtimes warm colours and green, so the two families can be
//! told apart at a glance on a projector.

use plotters::style::RGBColor;

/// The colour of each model, by its CLI name.
const BY_MODEL: &[(&str, RGBColor)] = &[
    ("sequential", RGBColor(96, 96, 96)),
    ("threads", RGBColor(0, 114, 178)),
    ("thread-pool", RGBColor(86, 180, 233)),
    ("tokio", RGBColor(213, 94, 0)),
    ("tokio-current", RGBColor(230, 159, 0)),
    ("async-std", RGBColor(204, 121, 167)),
    ("smol", RGBColor(0, 158, 115)),
    ("rayon", RGBColor(140, 86, 75)),
];

/// Colours for names the table does not know (models added later), picked
/// by a stable hash of the name so a model keeps its colour between runs.
const EXTRA: &[RGBColor] = &[
    RGBColor(117, 112, 179),
    RGBColor(27, 158, 119),
    RGBColor(166, 118, 29),
    RGBColor(231, 41, 138),
];

/// The colour of `model` (a model's CLI name).
pub fn colour(model: &str) -> RGBColor {
    if let Some((_, colour)) = BY_MODEL.iter().find(|(name, _)| *name == model) {
        return *colour;
    }
    let hash = model
        .bytes()
        .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize));
    EXTRA[hash % EXTRA.len()]
}

/// The colour as CSS, `#rrggbb`.
pub fn css(model: &str) -> String {
    let RGBColor(r, g, b) = colour(model);
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_model_has_its_own_colour() {
        let names = crate::model::names();
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(colour(a), colour(b), "{a} and {b} share a colour");
            }
        }
        assert_eq!(css("tokio"), "#d55e00");
        assert_eq!(colour("not-a-model"), colour("not-a-model"));
    }
}
