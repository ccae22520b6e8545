//! Name patterns: `*` matches any run of characters. Shared by the mode
//! rules and the purposes (ground: imports nothing of the crate).

use std::collections::HashSet;

/// A name pattern where `*` matches any run of characters (possibly empty).
/// The common shapes (`*`, an exact name) are decided without the glob loop:
/// patterns are matched on every tracked event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Pattern {
    text: String,
    shape: Shape,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    Any,
    Exact,
    Glob,
}

impl Pattern {
    pub fn new(p: impl Into<String>) -> Self {
        let text = p.into();
        let shape = if text.bytes().all(|b| b == b'*') && !text.is_empty() {
            Shape::Any
        } else if text.contains('*') {
            Shape::Glob
        } else {
            Shape::Exact
        };
        Pattern { text, shape }
    }
    pub fn as_str(&self) -> &str {
        &self.text
    }
    pub fn matches(&self, text: &str) -> bool {
        match self.shape {
            Shape::Any => true,
            Shape::Exact => self.text == text,
            Shape::Glob => glob_match(self.text.as_bytes(), text.as_bytes()),
        }
    }
}

/// Iterative glob match with `*` only; linear in practice, never recursive.
pub(crate) fn glob_match(p: &[u8], t: &[u8]) -> bool {
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, ti));
            pi += 1;
        } else if pi < p.len() && p[pi] == t[ti] {
            pi += 1;
            ti += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

/// A set of names given as exact names and patterns; exact names are hashed.
#[derive(Debug, Clone, Default)]
pub(crate) struct NameSet {
    any: bool,
    exact: HashSet<String>,
    globs: Vec<Pattern>,
}

impl NameSet {
    pub fn add(&mut self, pattern: &str) {
        if pattern == "*" {
            self.any = true;
        } else if pattern.contains('*') {
            self.globs.push(Pattern::new(pattern));
        } else {
            self.exact.insert(pattern.to_owned());
        }
    }
    pub fn contains(&self, name: &str) -> bool {
        self.any || self.exact.contains(name) || self.globs.iter().any(|g| g.matches(name))
    }
}

/// Whether some string matches both `*`-patterns `a` and `b` (a search
/// over pairs of positions, each visited once: quadratic in the patterns'
/// lengths, which are at most 80).
pub(crate) fn globs_intersect(a: &[u8], b: &[u8]) -> bool {
    let (n, m) = (a.len(), b.len());
    let mut seen = vec![false; (n + 1) * (m + 1)];
    let mut stack = vec![(0usize, 0usize)];
    while let Some((i, j)) = stack.pop() {
        let k = i * (m + 1) + j;
        if seen[k] {
            continue;
        }
        seen[k] = true;
        match (a.get(i), b.get(j)) {
            (None, None) => return true,
            (Some(b'*'), _) | (_, Some(b'*')) => {
                // A star matches nothing more (skip it), or one more
                // character of the other pattern (a literal or its star).
                if a.get(i) == Some(&b'*') {
                    stack.push((i + 1, j));
                    if j < m {
                        stack.push((i, j + 1));
                    }
                }
                if b.get(j) == Some(&b'*') {
                    stack.push((i, j + 1));
                    if i < n {
                        stack.push((i + 1, j));
                    }
                }
            }
            (Some(x), Some(y)) if x == y => stack.push((i + 1, j + 1)),
            _ => {}
        }
    }
    false
}
