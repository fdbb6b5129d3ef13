//! Greedy CTC decoding that keeps, for every emitted character, its
//! confidence and the time steps it occupies.

/// One emitted symbol.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CtcToken {
    /// Class index (0 is the blank and never emitted).
    pub class: usize,
    /// Mean of the winning probability over the symbol's time steps (0..1).
    pub confidence: f32,
    /// First time step of the run of this symbol.
    pub first_step: usize,
    /// Last time step of the run (inclusive).
    pub last_step: usize,
}

/// Decodes `steps` rows of `classes` probabilities (row-major): takes the best
/// class per step, merges repeats, drops blanks (class 0).
///
/// When `allowed` is given, only classes marked `true` (and the blank) can
/// win, which restricts the output to a language's characters.
pub fn greedy_decode(probs: &[f32], steps: usize, classes: usize, allowed: Option<&[bool]>) -> Vec<CtcToken> {
    let mut tokens: Vec<CtcToken> = Vec::new();
    let mut previous = usize::MAX;
    let mut sum = 0.0f32;
    for t in 0..steps {
        let row = &probs[t * classes..(t + 1) * classes];
        let (best, p) = argmax(row, allowed);
        if best != previous {
            if let Some(last) = tokens.last_mut() {
                if last.last_step + 1 == t && last.class == previous {
                    last.confidence = sum / (last.last_step - last.first_step + 1) as f32;
                }
            }
            if best != 0 {
                tokens.push(CtcToken { class: best, confidence: p, first_step: t, last_step: t });
                sum = p;
            }
        } else if best != 0 {
            if let Some(last) = tokens.last_mut() {
                last.last_step = t;
                sum += p;
                last.confidence = sum / (last.last_step - last.first_step + 1) as f32;
            }
        }
        previous = best;
    }
    tokens
}

fn argmax(row: &[f32], allowed: Option<&[bool]>) -> (usize, f32) {
    let mut best = (0usize, f32::NEG_INFINITY);
    match allowed {
        None => {
            for (i, &p) in row.iter().enumerate() {
                if p > best.1 {
                    best = (i, p);
                }
            }
        }
        Some(mask) => {
            for (i, &p) in row.iter().enumerate() {
                if (i == 0 || mask.get(i).copied().unwrap_or(false)) && p > best.1 {
                    best = (i, p);
                }
            }
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a probability matrix whose winners are `path` (with `p` each).
    fn logits(path: &[usize], classes: usize, p: f32) -> Vec<f32> {
        let mut m = vec![(1.0 - p) / (classes - 1) as f32; path.len() * classes];
        for (t, &c) in path.iter().enumerate() {
            m[t * classes + c] = p;
        }
        m
    }

    #[test]
    fn merges_repeats_and_drops_blanks() {
        let path = [0, 1, 1, 0, 1, 2, 2, 2, 0, 0, 3];
        let probs = logits(&path, 5, 0.9);
        let tokens = greedy_decode(&probs, path.len(), 5, None);
        let classes: Vec<usize> = tokens.iter().map(|t| t.class).collect();
        assert_eq!(classes, vec![1, 1, 2, 3]);
        assert_eq!((tokens[0].first_step, tokens[0].last_step), (1, 2));
        assert_eq!((tokens[2].first_step, tokens[2].last_step), (5, 7));
        assert!(tokens.iter().all(|t| (t.confidence - 0.9).abs() < 1e-6));
    }

    #[test]
    fn confidence_is_mean_over_the_run() {
        let classes = 3;
        let mut probs = vec![0.0; 3 * classes];
        probs[1] = 0.6; // t0: class 1
        probs[classes + 1] = 0.8; // t1: class 1
        probs[2 * classes] = 0.9; // t2: blank
        let tokens = greedy_decode(&probs, 3, classes, None);
        assert_eq!(tokens.len(), 1);
        assert!((tokens[0].confidence - 0.7).abs() < 1e-6);
    }

    #[test]
    fn mask_restricts_winners() {
        let classes = 4;
        // Class 3 wins at t0 but is not allowed; class 2 is second best.
        let probs = vec![0.1, 0.0, 0.3, 0.6];
        let tokens = greedy_decode(&probs, 1, classes, Some(&[true, true, true, false]));
        assert_eq!(tokens[0].class, 2);
    }
}
