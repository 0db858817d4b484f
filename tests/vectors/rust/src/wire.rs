//! Byte comparison with a field-level explanation; the same text as
//! `bytes_diff` in tests/test_golden_vectors.py and `bytesDiff` in main.go.

use crate::dump::hex;

/// `None` when equal, else one line saying where `actual` departs from `expected`.
pub fn bytes_diff(what: &str, expected: &[u8], actual: &[u8]) -> Option<String> {
    if expected == actual {
        return None;
    }
    let offset = expected.iter().zip(actual).position(|(a, b)| a != b).unwrap_or(expected.len().min(actual.len()));
    Some(format!(
        "{what} differs at byte {offset} (writer {} bytes, reader {} bytes): {}",
        expected.len(),
        actual.len(),
        explain(expected, actual, offset)
    ))
}

fn explain(expected: &[u8], actual: &[u8], offset: usize) -> String {
    let (Some(writer), Some(reader)) = (records(expected), records(actual)) else {
        let start = offset.saturating_sub(8);
        let window = |data: &[u8]| hex(&data[start.min(data.len())..(offset + 16).min(data.len())]);
        return format!("writer ...{}..., reader ...{}...", window(expected), window(actual));
    };
    let (mut sorted_writer, mut sorted_reader) = (writer.clone(), reader.clone());
    sorted_writer.sort();
    sorted_reader.sort();
    if sorted_writer == sorted_reader {
        let numbers = |records: &[(u64, &[u8])]| records.iter().map(|(n, _)| *n).collect::<Vec<_>>();
        let (writer_numbers, reader_numbers) = (numbers(&writer), numbers(&reader));
        if writer_numbers != reader_numbers {
            return format!(
                "same top-level fields in another order: writer {}, reader {}",
                field_order(&writer_numbers),
                field_order(&reader_numbers)
            );
        }
        let mut moved: Vec<u64> = writer.iter().zip(&reader).filter(|(w, r)| w.1 != r.1).map(|(w, _)| w.0).collect();
        moved.sort_unstable();
        moved.dedup();
        return moved
            .iter()
            .map(|number| format!("field {number} has the same entries in another order"))
            .collect::<Vec<_>>()
            .join("; ");
    }
    let mut all: Vec<u64> = writer.iter().chain(&reader).map(|(n, _)| *n).collect();
    all.sort_unstable();
    all.dedup();
    let joined = |records: &[(u64, &[u8])], number: u64| -> Vec<u8> {
        records.iter().filter(|(n, _)| *n == number).flat_map(|(_, raw)| raw.iter().copied()).collect()
    };
    all.iter()
        .filter_map(|&number| {
            let (ours, theirs) = (joined(&writer, number), joined(&reader, number));
            (ours != theirs)
                .then(|| format!("field {number}: writer {}, reader {}", short_hex(&ours), short_hex(&theirs)))
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// The top-level `(field number, whole record)` pairs; `None` when the bytes do not parse.
fn records(data: &[u8]) -> Option<Vec<(u64, &[u8])>> {
    let mut out = Vec::new();
    let mut position = 0;
    while position < data.len() {
        let start = position;
        let tag = varint(data, &mut position)?;
        match tag & 7 {
            0 => {
                varint(data, &mut position)?;
            }
            1 => position += 8,
            2 => position += usize::try_from(varint(data, &mut position)?).ok()?,
            5 => position += 4,
            _ => return None,
        }
        if position > data.len() {
            return None;
        }
        out.push((tag >> 3, &data[start..position]));
    }
    Some(out)
}

fn varint(data: &[u8], position: &mut usize) -> Option<u64> {
    let mut result = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *data.get(*position)?;
        *position += 1;
        result |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(result);
        }
    }
    None
}

fn field_order(numbers: &[u64]) -> String {
    let mut parts = Vec::new();
    let mut index = 0;
    while index < numbers.len() {
        let run = numbers[index..].iter().take_while(|n| **n == numbers[index]).count();
        parts.push(if run == 1 { numbers[index].to_string() } else { format!("{}*{run}", numbers[index]) });
        index += run;
    }
    format!("[{}]", parts.join(" "))
}

fn short_hex(data: &[u8]) -> String {
    let text = hex(data);
    if text.is_empty() {
        "(absent)".to_owned()
    } else if text.len() > 64 {
        format!("{}...", &text[..64])
    } else {
        text
    }
}
