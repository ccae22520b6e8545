//! The identifying-name classifier against real field names.
//!
//! `data/identifying_names.tsv` holds one row per field name that a real
//! SDK, API or standard uses (Segment, Mixpanel, Amplitude, Adjust,
//! AppsFlyer, Firebase / GA4, Matomo, Piano, OpenRTB, Android, iOS,
//! schema.org, OpenID Connect, HTML autofill...), as `verdict<TAB>name<TAB>source`:
//! `refused` when the name identifies a person or a device, `accepted`
//! otherwise. Names are spelled as their source spells them; the SDK
//! lower-cases keys, so two names differing only by case are one name. The
//! judgements behind the disputable rows are in the module documentation
//! of `core/src/identifying.rs` (Judgements).

use mesure_core::testing::is_identifying;
use std::collections::HashMap;

const TABLE: &str = include_str!("data/identifying_names.tsv");
const MIN_REFUSED: usize = 500;
const MIN_ACCEPTED: usize = 300;

/// One row of the table.
struct Row {
    line: usize,
    refused: bool,
    name: &'static str,
    source: &'static str,
}

/// The rows of the table, and every malformed line described.
fn parse() -> (Vec<Row>, Vec<String>) {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (i, text) in TABLE.lines().enumerate() {
        let line = i + 1;
        if text.is_empty() || text.starts_with('#') {
            continue;
        }
        let fields: Vec<&'static str> = text.split('\t').collect();
        let [verdict, name, source] = fields[..] else {
            problems.push(format!("line {line}: {} fields, not 3: {text:?}", fields.len()));
            continue;
        };
        let refused = match verdict {
            "refused" => true,
            "accepted" => false,
            other => {
                problems.push(format!("line {line}: verdict {other:?} is neither refused nor accepted"));
                continue;
            }
        };
        if name.is_empty() || name.chars().any(char::is_whitespace) {
            problems.push(format!("line {line}: bad name {name:?}"));
        }
        if source.trim().is_empty() {
            problems.push(format!("line {line}: {name:?} has no source"));
        }
        rows.push(Row { line, refused, name, source });
    }
    (rows, problems)
}

#[test]
fn every_row_is_a_verdict_a_name_and_a_source() {
    let (rows, problems) = parse();
    assert!(problems.is_empty(), "{} malformed rows:\n{}", problems.len(), problems.join("\n"));
    assert!(rows.iter().all(|r| !r.source.is_empty()));
}

#[test]
fn names_are_distinct_and_have_one_verdict() {
    let (rows, _) = parse();
    let mut seen: HashMap<String, &Row> = HashMap::new();
    let mut problems = Vec::new();
    for row in &rows {
        // The SDK lower-cases property names: `userId` and `userid` are one name.
        match seen.get(&row.name.to_ascii_lowercase()) {
            Some(first) if first.refused == row.refused => {
                problems.push(format!("line {}: {:?} duplicates line {} ({:?})", row.line, row.name, first.line, first.name))
            }
            Some(first) => problems.push(format!("line {}: {:?} is in both verdicts (line {}: {:?})", row.line, row.name, first.line, first.name)),
            None => {
                seen.insert(row.name.to_ascii_lowercase(), row);
            }
        }
    }
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

#[test]
fn the_table_is_large() {
    let (rows, _) = parse();
    let refused = rows.iter().filter(|r| r.refused).count();
    let accepted = rows.len() - refused;
    assert!(refused >= MIN_REFUSED, "{refused} refused names, at least {MIN_REFUSED} wanted");
    assert!(accepted >= MIN_ACCEPTED, "{accepted} accepted names, at least {MIN_ACCEPTED} wanted");
}

#[test]
fn every_name_gets_its_verdict() {
    let (rows, _) = parse();
    let wrong: Vec<String> = rows
        .iter()
        .filter(|r| is_identifying(r.name) != r.refused)
        .map(|r| {
            let (want, got) = if r.refused { ("refused", "accepted") } else { ("accepted", "refused") };
            format!("line {}: {:?} should be {want} but is {got} (source: {})", r.line, r.name, r.source)
        })
        .collect();
    assert!(wrong.is_empty(), "{} of {} names misclassified:\n{}", wrong.len(), rows.len(), wrong.join("\n"));
}
