//! URL slugs: `slugify`, validation and de-duplication.

/// Maximum length of a slug, in characters.
pub const MAX_SLUG_LEN: usize = 100;

/// Cuts `s` to at most `max` characters and strips trailing `-`.
fn truncate(s: &str, max: usize) -> &str {
    let end = s.char_indices().nth(max).map_or(s.len(), |(i, _)| i);
    s[..end].trim_end_matches('-')
}

/// Makes an ASCII slug from `text`: transliterates with `deunicode`,
/// lowercases, drops apostrophes (`Stalin's` -> `stalins`), turns every other
/// run of characters outside `[a-z0-9]` into one `-`, trims `-` at both ends
/// and cuts to at most 100 characters. Returns `"untitled"` if nothing is left.
pub fn slugify(text: &str) -> String {
    let ascii = deunicode::deunicode(&text.replace('\u{2019}', ""));
    let mut slug = String::with_capacity(ascii.len());
    let mut pending_dash = false;
    for c in ascii.to_lowercase().chars() {
        match c {
            '\'' | '\u{2019}' => {}
            'a'..='z' | '0'..='9' => {
                if pending_dash && !slug.is_empty() {
                    slug.push('-');
                }
                pending_dash = false;
                slug.push(c);
            }
            _ => pending_dash = true,
        }
    }
    let slug = truncate(&slug, MAX_SLUG_LEN);
    if slug.is_empty() {
        "untitled".to_string()
    } else {
        slug.to_string()
    }
}

/// True when `s` matches `^[a-z0-9]+(-[a-z0-9]+)*$` and is at most 100 bytes.
pub fn is_valid_slug(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_SLUG_LEN
        && s.split('-').all(|part| {
            !part.is_empty()
                && part
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
}

/// Returns `base` if `taken(base)` is false, else the first free one of
/// `base-2`, `base-3`, ..., shortening the base so the result stays within
/// 100 characters. An empty base is treated as `"untitled"`. `taken` must
/// eventually return false.
pub fn unique_slug(base: &str, taken: impl Fn(&str) -> bool) -> String {
    let base = match truncate(base.trim_matches('-'), MAX_SLUG_LEN) {
        "" => "untitled",
        b => b,
    };
    if !taken(base) {
        return base.to_string();
    }
    (2u64..)
        .map(|n| {
            let suffix = format!("-{n}");
            let stem = truncate(base, MAX_SLUG_LEN - suffix.len());
            format!("{stem}{suffix}")
        })
        .find(|candidate| !taken(candidate))
        .expect("an unbounded counter always yields a free slug")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugify_examples() {
        assert_eq!(slugify("De-Stalinization"), "de-stalinization");
        assert_eq!(
            slugify("20th Congress of the CPSU"),
            "20th-congress-of-the-cpsu"
        );
        assert_eq!(slugify("Stalin's Death"), "stalins-death");
        assert_eq!(slugify("Stalin\u{2019}s Death"), "stalins-death");
        assert_eq!(slugify("  --Hello,   World!--  "), "hello-world");
        assert_eq!(
            slugify("Key Reforms and Policies"),
            "key-reforms-and-policies"
        );
        assert_eq!(slugify("Café Münster"), "cafe-munster");
        assert_eq!(slugify(""), "untitled");
        assert_eq!(slugify("!!! ''' ---"), "untitled");
    }

    #[test]
    fn slugify_non_ascii() {
        let s = slugify("Perestroika \u{2014} Перестройка");
        assert!(s.is_ascii());
        assert!(is_valid_slug(&s), "{s}");
        assert!(s.starts_with("perestroika-"), "{s}");
        assert_eq!(s, "perestroika-perestroika");
    }

    #[test]
    fn slugify_length_limit() {
        let long = "word ".repeat(40);
        let s = slugify(&long);
        assert!(s.len() <= MAX_SLUG_LEN);
        assert!(!s.ends_with('-'));
        assert!(is_valid_slug(&s));
        // A cut that would land right after a dash drops the dash too.
        let s = slugify(&format!("{} b", "a".repeat(99)));
        assert_eq!(s, "a".repeat(99));
        assert_eq!(slugify(&"x".repeat(150)), "x".repeat(100));
    }

    #[test]
    fn slugify_always_valid() {
        for text in [
            "a",
            "A B",
            "ÆØÅ",
            "日本語",
            "💡 idea",
            "x---y",
            "1953",
            "a\u{0301}",
        ] {
            let s = slugify(text);
            assert!(is_valid_slug(&s), "{text:?} -> {s:?}");
        }
    }

    #[test]
    fn valid_slugs() {
        for s in [
            "a",
            "abc",
            "a-b",
            "de-stalinization",
            "20th-congress",
            "x1-2-3",
        ] {
            assert!(is_valid_slug(s), "{s}");
        }
        assert!(is_valid_slug(&"a".repeat(100)));
        for s in [
            "",
            "-",
            "-a",
            "a-",
            "a--b",
            "A",
            "a b",
            "a_b",
            "é",
            "a.b",
            "untitled!",
        ] {
            assert!(!is_valid_slug(s), "{s}");
        }
        assert!(!is_valid_slug(&"a".repeat(101)));
    }

    #[test]
    fn unique_slug_suffixes() {
        let taken = ["history", "history-2", "history-3"];
        assert_eq!(unique_slug("free", |s| taken.contains(&s)), "free");
        assert_eq!(unique_slug("history", |s| taken.contains(&s)), "history-4");
        assert_eq!(unique_slug("", |_| false), "untitled");
    }

    #[test]
    fn unique_slug_stays_within_limit() {
        let base = "a".repeat(100);
        let s = unique_slug(&base, |s| s == base);
        assert_eq!(s, format!("{}-2", "a".repeat(98)));
        assert!(is_valid_slug(&s));
        // Shortening never leaves a dash before the suffix.
        let base = format!("{}-b", "a".repeat(97));
        let s = unique_slug(&base, |s| s == base);
        assert_eq!(s, format!("{}-2", "a".repeat(97)));
        // Many collisions: suffix grows, length stays bounded.
        let s = unique_slug(&"z".repeat(100), |s| !s.ends_with("-100"));
        assert_eq!(s.len(), 100);
        assert!(s.ends_with("-100") && is_valid_slug(&s));
    }
}
