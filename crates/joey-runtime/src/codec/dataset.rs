//! Dataset selection (`dataset[]`, `dataset.exclude[]`, `dataset.separator`), shared by
//! inference responses and log reads (behaviour spec §9.3, §14.2).

use arrow::record_batch::RecordBatch;

use super::error::CodecError;

/// Which columns a response carries and how they are laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatasetParams {
    /// Selectors to include (`*`, `time`, `in`, `out.dense_1`, `out_`, `metadata`, ...).
    pub include: Vec<String>,
    /// Selectors to exclude; a strictly more specific include wins over them.
    pub exclude: Vec<String>,
    /// Flatten the nested groups with this separator (`.` → `out.dense_1`).
    pub separator: Option<String>,
}

impl Default for DatasetParams {
    fn default() -> Self {
        DatasetParams {
            include: vec!["*".to_string()],
            exclude: Vec::new(),
            separator: None,
        }
    }
}

impl DatasetParams {
    /// Parses the raw query string (without `?`). Understands `dataset[]=a&dataset[]=b`,
    /// `dataset=a,b`, `dataset=["a","b"]`, `dataset.exclude[]=` / `dataset.exclude=`,
    /// `dataset.separator=.` and `dataset.flatten=true` (separator `.` unless one is given),
    /// with URL-decoding of names and values (`dataset%5B%5D`, `+`). Other parameters are
    /// ignored. Defaults: include `["*"]`, no exclude, no separator.
    pub fn from_query(raw_query: Option<&str>) -> Result<DatasetParams, CodecError> {
        let mut p = DatasetParams {
            include: Vec::new(),
            ..DatasetParams::default()
        };
        let mut flatten = false;
        for pair in raw_query.unwrap_or("").split('&').filter(|s| !s.is_empty()) {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            let key = url_decode(k)?;
            let target = match key.as_str() {
                "dataset[]" | "dataset" => &mut p.include,
                "dataset.exclude[]" | "dataset.exclude" => &mut p.exclude,
                "dataset.separator" => {
                    let v = url_decode(v)?;
                    p.separator = (!v.is_empty()).then_some(v);
                    continue;
                }
                "dataset.flatten" => {
                    flatten = match url_decode(v)?.to_ascii_lowercase().as_str() {
                        "" | "true" | "1" => true,
                        "false" | "0" => false,
                        other => {
                            return Err(CodecError::bad(format!(
                                "dataset.flatten must be true or false, got '{other}'"
                            )))
                        }
                    };
                    continue;
                }
                _ => continue,
            };
            push_selectors(target, &url_decode(v)?)?;
        }
        if flatten && p.separator.is_none() {
            p.separator = Some(".".to_string());
        }
        if p.include.is_empty() {
            p.include.push("*".to_string());
        }
        Ok(p)
    }

    /// Whether the column at `path` (`time`, `in.tensor`, `metadata.elapsed`, ...) is kept.
    pub fn keeps(&self, path: &str) -> bool {
        let best = |patterns: &[String]| patterns.iter().filter_map(|p| covers(p, path)).max();
        match (best(&self.include), best(&self.exclude)) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some(inc), Some(exc)) => inc > exc,
        }
    }
}

/// How specifically `pattern` covers `path` (its length; `*` = 0), or `None`.
fn covers(pattern: &str, path: &str) -> Option<usize> {
    if pattern == "*" {
        return Some(0);
    }
    let prefix = path.starts_with(pattern);
    let boundary = path.len() == pattern.len() || path.as_bytes().get(pattern.len()) == Some(&b'.');
    // `out_` selects every shadow output group (`out_<model>.*`).
    (prefix && (boundary || pattern.ends_with('_'))).then_some(pattern.len())
}

fn push_selectors(target: &mut Vec<String>, value: &str) -> Result<(), CodecError> {
    let value = value.trim();
    if value.starts_with('[') {
        let list: Vec<String> = serde_json::from_str(value).map_err(|e| {
            CodecError::bad(format!(
                "dataset selector '{value}' is not a JSON list of strings: {e}"
            ))
        })?;
        target.extend(list.into_iter().filter(|s| !s.is_empty()));
    } else {
        target.extend(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from),
        );
    }
    Ok(())
}

/// Percent-decodes a query-string component (`+` is a space); invalid escapes are an error.
pub fn url_decode(s: &str) -> Result<String, CodecError> {
    if !s.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(s.to_string());
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        CodecError::bad(format!(
                            "invalid percent-encoding in query parameter '{s}'"
                        ))
                    })?;
                out.push(byte);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out)
        .map_err(|_| CodecError::bad(format!("query parameter '{s}' is not valid UTF-8")))
}

/// Keeps the columns `params` selects, in their original order (schema and field metadata
/// are kept).
pub fn select(batch: &RecordBatch, params: &DatasetParams) -> RecordBatch {
    let schema = batch.schema();
    let keep: Vec<usize> = schema
        .fields()
        .iter()
        .enumerate()
        .filter(|(_, f)| params.keeps(f.name()))
        .map(|(i, _)| i)
        .collect();
    if keep.len() == schema.fields().len() {
        return batch.clone();
    }
    batch
        .project(&keep)
        .expect("projection indices come from the schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> DatasetParams {
        DatasetParams::from_query(Some(s)).unwrap()
    }

    #[test]
    fn parses_all_forms() {
        assert_eq!(
            DatasetParams::from_query(None).unwrap(),
            DatasetParams::default()
        );
        let p = q("dataset[]=*&dataset.exclude[]=metadata&dataset.separator=.");
        assert_eq!(
            (p.include, p.exclude, p.separator),
            (vec!["*".into()], vec!["metadata".into()], Some(".".into()))
        );
        let p = q("dataset%5B%5D=time&dataset%5B%5D=out&dataset.exclude%5B%5D=in&page_size=3");
        assert_eq!(
            (p.include, p.exclude),
            (vec!["time".into(), "out".into()], vec!["in".into()])
        );
        assert_eq!(
            q("dataset=time,out.dense_1").include,
            ["time", "out.dense_1"]
        );
        assert_eq!(
            q("dataset=%5B%22time%22%2C%22metadata%22%5D").include,
            ["time", "metadata"]
        );
        assert_eq!(q("dataset.flatten=true").separator.as_deref(), Some("."));
        assert_eq!(
            q("dataset.flatten=true&dataset.separator=_")
                .separator
                .as_deref(),
            Some("_")
        );
        assert_eq!(q("dataset.flatten=false").separator, None);
        assert!(DatasetParams::from_query(Some("dataset.flatten=maybe")).is_err());
        assert!(DatasetParams::from_query(Some("dataset[]=%zz")).is_err());
    }

    #[test]
    fn selection_rules() {
        let p = q("dataset.exclude[]=anomaly&dataset[]=time&dataset[]=in&dataset[]=out&dataset[]=anomaly.count");
        assert!(p.keeps("anomaly.count") && !p.keeps("anomaly.too_high"));
        assert!(p.keeps("time") && p.keeps("in.tensor") && !p.keeps("metadata.elapsed"));
        let p = q("dataset[]=*&dataset.exclude[]=metadata");
        assert!(
            p.keeps("out_m2.y") && !p.keeps("metadata.last_model") && !p.keeps("metadata.elapsed")
        );
        let p = q("dataset[]=out_");
        assert!(p.keeps("out_m2.y") && !p.keeps("out.y"));
        let p = q("dataset[]=in&dataset.exclude[]=in");
        assert!(!p.keeps("in.tensor"));
        assert!(!q("dataset[]=in").keeps("input.x"));
        assert!(q("dataset[]=in").keeps("in.a.b"));
    }
}
