//! Percentiles and the Markdown report.

use std::time::Duration;

/// Latency percentiles of a set of samples, in nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Percentiles {
    pub p50: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub n: usize,
}

impl Percentiles {
    pub fn of(mut samples: Vec<u64>) -> Percentiles {
        samples.sort_unstable();
        let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q).round() as usize];
        Percentiles { p50: at(0.50), p99: at(0.99), p999: at(0.999), max: at(1.0), n: samples.len() }
    }

    pub fn to_json(self) -> String {
        format!(r#"{{"p50":{},"p99":{},"p999":{},"max":{},"n":{}}}"#, self.p50, self.p99, self.p999, self.max, self.n)
    }

    pub fn from_json(v: &serde_json::Value) -> Option<Percentiles> {
        Some(Percentiles {
            p50: v["p50"].as_u64()?,
            p99: v["p99"].as_u64()?,
            p999: v["p999"].as_u64()?,
            max: v["max"].as_u64()?,
            n: v["n"].as_u64()? as usize,
        })
    }
}

pub fn us(ns: u64) -> String {
    format!("{:.2} µs", ns as f64 / 1000.0)
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn ratio(a: f64, b: f64) -> String {
    if b == 0.0 {
        "n/a".into()
    } else {
        format!("{:.2}×", a / b)
    }
}

pub fn verdict(ok: bool) -> &'static str {
    if ok {
        "**met**"
    } else {
        "**not met**"
    }
}

/// Collects Markdown as it goes, printing each line too.
#[derive(Default)]
pub struct Report(pub String);

impl Report {
    pub fn line(&mut self, s: impl AsRef<str>) {
        println!("{}", s.as_ref());
        self.0.push_str(s.as_ref());
        self.0.push('\n');
    }
}
