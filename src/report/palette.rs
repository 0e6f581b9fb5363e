//! One colour per model, the same in every chart and table of the report.
//!
//! Colours come from the Okabe–Ito set (readable with the common forms of
//! colour blindness), plus a grey and a brown. Blocking models are blues and
//! greys, async runtimes warm colours and green, so the two families can be
//! told apart at a glance on a projector.
//!
//! The Python mirror's models (`py-threads`, `py-asyncio`, ...) have colours
//! of their own, darker and more saturated than the lab's, so a Python line
//! is never mistaken for its Rust counterpart; a free-threaded build's
//! `-ft` models take a darker shade of the same colour. Any other name gets
//! a colour picked by a stable hash of the name: the same name has the same
//! colour in every chart and every run.

use plotters::style::RGBColor;

/// The lab's models' colours, dealt out in the registry's order
/// ([`crate::model::all`]): the first model takes the first colour, and so
/// on, so a new model gets the next free colour without being named here.
const BY_REGISTRY: &[RGBColor] = &[
    RGBColor(96, 96, 96),    // sequential
    RGBColor(0, 114, 178),   // threads
    RGBColor(86, 180, 233),  // thread-pool
    RGBColor(213, 94, 0),    // tokio
    RGBColor(230, 159, 0),   // tokio-current
    RGBColor(204, 121, 167), // async-std
    RGBColor(0, 158, 115),   // smol
    RGBColor(140, 86, 75),   // rayon
    RGBColor(102, 102, 204), // the ninth model
    RGBColor(153, 153, 51),  // the tenth
];

/// The colour of each name that is not a lab model, by name.
const BY_MODEL: &[(&str, RGBColor)] = &[
    // The Python mirror (scripts/python/).
    ("py-sequential", RGBColor(140, 140, 40)),
    ("py-threads", RGBColor(106, 61, 154)),
    ("py-processes", RGBColor(231, 41, 138)),
    ("py-asyncio", RGBColor(178, 34, 34)),
    ("py-asyncio-blocking", RGBColor(0, 0, 128)),
    ("py-asyncio-to-thread", RGBColor(31, 120, 120)),
];

/// Colours for names the table does not know (models added later), picked
/// by a stable hash of the name so a model keeps its colour between runs.
const EXTRA: &[RGBColor] = &[
    RGBColor(117, 112, 179),
    RGBColor(166, 118, 29),
    RGBColor(231, 41, 138),
    RGBColor(27, 120, 55),
    RGBColor(128, 0, 64),
    RGBColor(0, 90, 140),
    RGBColor(190, 110, 0),
    RGBColor(60, 60, 130),
];

/// The suffix the Python mirror gives every model on a free-threaded
/// interpreter running without the GIL.
const FREE_THREADED: &str = "-ft";

fn known(model: &str) -> Option<RGBColor> {
    let in_registry = crate::model::all()
        .iter()
        .position(|m| m.name() == model)
        .and_then(|index| BY_REGISTRY.get(index));
    in_registry.copied().or_else(|| {
        BY_MODEL
            .iter()
            .find(|(name, _)| *name == model)
            .map(|(_, colour)| *colour)
    })
}

/// The colour of `model` (a model's CLI name, or a name from another source).
pub fn colour(model: &str) -> RGBColor {
    if let Some(colour) = known(model) {
        return colour;
    }
    if let Some(RGBColor(r, g, b)) = model.strip_suffix(FREE_THREADED).and_then(known) {
        let darker = |c: u8| (f64::from(c) * 0.6).round() as u8;
        return RGBColor(darker(r), darker(g), darker(b));
    }
    // FNV-1a: fixed, so a name's colour never changes between builds.
    let hash = model.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    EXTRA[(hash % EXTRA.len() as u64) as usize]
}

/// The colour as CSS, `#rrggbb`.
pub fn css(model: &str) -> String {
    let RGBColor(r, g, b) = colour(model);
    format!("#{r:02x}{g:02x}{b:02x}")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every name with a colour of its own: the lab's models and the Python mirror's.
    fn named() -> Vec<&'static str> {
        let mut names = crate::model::names();
        names.extend(BY_MODEL.iter().map(|(name, _)| *name));
        names
    }

    #[test]
    fn every_model_has_its_own_colour() {
        let names = named();
        assert!(
            crate::model::all().len() <= BY_REGISTRY.len(),
            "more models than colours: add a colour to BY_REGISTRY"
        );
        for (i, a) in names.iter().enumerate() {
            for b in &names[i + 1..] {
                assert_ne!(colour(a), colour(b), "{a} and {b} share a colour");
            }
        }
        assert_eq!(css("tokio"), "#d55e00");
    }

    #[test]
    fn unknown_names_get_a_stable_colour_and_free_threaded_a_darker_one() {
        assert_eq!(colour("not-a-model"), colour("not-a-model"));
        assert!(EXTRA.contains(&colour("not-a-model")));
        // Fixed by the hash: a change here would recolour saved reports' models.
        assert_eq!(colour("go-goroutines"), EXTRA[1]);
        assert_eq!(css("py-threads-ft"), "#40255c");
        assert_ne!(colour("py-threads-ft"), colour("py-threads"));
    }
}
