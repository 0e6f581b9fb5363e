//! Small statistics on plain numbers: medians and least-squares fits.
//! It imports nothing from the crate (the record types that carry a
//! spread or quantiles build them in [`crate::record::result`]), and
//! another part may add files here (intervals, tests).

pub mod interval;

/// The median of `values` (mean of the two middle values for an even count).
pub fn median(values: &[f64]) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let mid = sorted.len() / 2;
    if sorted.len() % 2 == 1 {
        sorted[mid]
    } else {
        (sorted[mid - 1] + sorted[mid]) / 2.0
    }
}

/// Index of the value that stands for the median: the middle one, or the
/// lower of the two middle ones for an even count.
pub fn median_index(values: &[f64]) -> Option<usize> {
    if values.is_empty() {
        return None;
    }
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|a, b| values[*a].total_cmp(&values[*b]));
    Some(order[(values.len() - 1) / 2])
}

/// A least-squares line `y = intercept + slope · x` and how well it fits.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LinearFit {
    pub slope: f64,
    pub intercept: f64,
    /// Coefficient of determination: 1.0 is a perfect line, 0 explains nothing.
    pub r_squared: f64,
}

/// Fits a line through `(x, y)` points; `None` with fewer than two distinct x.
///
/// Used for memory per unit of work: the slope of peak RSS against the
/// number of tasks or threads is the cost of one more, without the fixed
/// cost of the runtime and the binary.
pub fn linear_fit(points: &[(f64, f64)]) -> Option<LinearFit> {
    let n = points.len() as f64;
    if points.len() < 2 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    if sxx == 0.0 {
        return None;
    }
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = sxy / sxx;
    let intercept = mean_y - slope * mean_x;
    let ss_total: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let ss_residual: f64 = points
        .iter()
        .map(|p| (p.1 - (intercept + slope * p.0)).powi(2))
        .sum();
    let r_squared = if ss_total == 0.0 {
        1.0
    } else {
        1.0 - ss_residual / ss_total
    };
    Some(LinearFit {
        slope,
        intercept,
        r_squared,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn linear_fit_recovers_a_line_and_rates_noise() {
        let exact: Vec<(f64, f64)> = (1..=5).map(|x| (x as f64, 3.0 + 2.0 * x as f64)).collect();
        let fit = linear_fit(&exact).unwrap();
        assert!((fit.slope - 2.0).abs() < 1e-9 && (fit.intercept - 3.0).abs() < 1e-9);
        assert!((fit.r_squared - 1.0).abs() < 1e-9);
        let noisy = [(1.0, 1.0), (2.0, 5.0), (3.0, 2.0), (4.0, 6.0)];
        assert!(linear_fit(&noisy).unwrap().r_squared < 0.9);
        assert!(linear_fit(&[(1.0, 1.0)]).is_none());
        assert!(linear_fit(&[(2.0, 1.0), (2.0, 3.0)]).is_none());
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 3.0, 2.0]), 2.5);
        assert_eq!(median(&[]), 0.0);
    }

    #[test]
    fn median_index_points_at_the_middle_value() {
        assert_eq!(median_index(&[30.0, 10.0, 20.0]), Some(2));
        assert_eq!(median_index(&[40.0, 10.0, 30.0, 20.0]), Some(3));
        assert_eq!(median_index(&[]), None);
    }
}
