//! Temporary stand-in until the git-exact parser lands.

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Trailer {
    pub key: String,
    pub value: String,
}

pub fn parse(message: &str) -> Vec<Trailer> {
    let last = message.trim_end().rsplit("\n\n").next().unwrap_or("");
    last.lines()
        .filter_map(|line| {
            let (key, value) = line.split_once(':')?;
            Some(Trailer {
                key: key.trim().to_owned(),
                value: value.trim().to_owned(),
            })
        })
        .collect()
}

pub fn stray(_message: &str, _keys: &[String]) -> Vec<Trailer> {
    Vec::new()
}
