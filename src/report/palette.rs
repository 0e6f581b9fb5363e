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
    RGBColor(90, 40, 110),   // the ninth model (monoio): a dark purple, apart from threads' blue
    //                          under deuteranopia, where a lighter violet merged with it
    RGBColor(153, 153, 51), // the tenth
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

    /// Machado, Oliveira & Fernandes (2009) matrices at full severity, on
    /// linear RGB: what a viewer with each deficiency sees.
    const SIMULATIONS: [(&str, [[f64; 3]; 3]); 4] = [
        (
            "normal vision",
            [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        ),
        (
            "protanopia",
            [
                [0.152286, 1.052583, -0.204868],
                [0.114503, 0.786281, 0.099216],
                [-0.003882, -0.048116, 1.051998],
            ],
        ),
        (
            "deuteranopia",
            [
                [0.367322, 0.860646, -0.227968],
                [0.280085, 0.672501, 0.047413],
                [-0.011820, 0.042940, 0.968881],
            ],
        ),
        (
            "tritanopia",
            [
                [1.255528, -0.076749, -0.178779],
                [-0.078411, 0.930809, 0.147602],
                [0.004733, 0.691367, 0.303900],
            ],
        ),
    ];

    /// The least CIELAB distance (ΔE, CIE76) two model colours drawn on one
    /// chart must keep for every viewer: about 2.3 is "just noticeable";
    /// 11 keeps lines apart on a washed-out projector.
    const MIN_DELTA_E: f64 = 11.0;

    fn linear(channel: u8) -> f64 {
        let c = f64::from(channel) / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    }

    fn lab_as_seen(colour: RGBColor, matrix: &[[f64; 3]; 3]) -> [f64; 3] {
        let RGBColor(r, g, b) = colour;
        let rgb = [linear(r), linear(g), linear(b)];
        let seen: Vec<f64> = matrix
            .iter()
            .map(|row| (0..3).map(|j| row[j] * rgb[j]).sum::<f64>().clamp(0.0, 1.0))
            .collect();
        let (r, g, b) = (seen[0], seen[1], seen[2]);
        let x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047;
        let y = 0.2126 * r + 0.7152 * g + 0.0722 * b;
        let z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883;
        let f = |t: f64| {
            if t > 0.008856 {
                t.cbrt()
            } else {
                7.787 * t + 16.0 / 116.0
            }
        };
        [
            116.0 * f(y) - 16.0,
            500.0 * (f(x) - f(y)),
            200.0 * (f(y) - f(z)),
        ]
    }

    #[test]
    fn the_lab_models_colours_stay_apart_for_the_common_colour_vision_deficiencies() {
        // Every lab model can share a chart with every other.
        let names = crate::model::names();
        for (viewer, matrix) in &SIMULATIONS {
            for (i, a) in names.iter().enumerate() {
                for b in &names[i + 1..] {
                    let (la, lb) = (
                        lab_as_seen(colour(a), matrix),
                        lab_as_seen(colour(b), matrix),
                    );
                    let distance = (0..3).map(|k| (la[k] - lb[k]).powi(2)).sum::<f64>().sqrt();
                    assert!(
                        distance >= MIN_DELTA_E,
                        "{a} and {b} are only ΔE {distance:.1} apart with {viewer}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_model_colour_reads_on_white() {
        // WCAG contrast of at least 2:1 against the charts' white ground
        // (lines are 3 px wide; text uses the page's ink, not these).
        let luminance = |c: RGBColor| {
            let RGBColor(r, g, b) = c;
            0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
        };
        for name in crate::model::names() {
            let contrast = 1.05 / (luminance(colour(name)) + 0.05);
            assert!(
                contrast >= 2.0,
                "{name} has contrast {contrast:.2} on white"
            );
        }
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
