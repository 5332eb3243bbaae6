//! Formatting between Chatwoot's Markdown and WhatsApp's markup.
//!
//! | Markdown (Chatwoot) | WhatsApp |
//! |---|---|
//! | `**bold**`, `__bold__` | `*bold*` |
//! | `*italic*`, `_italic_` | `_italic_` |
//! | `~~strike~~` | `~strike~` |
//! | `` `code` ``, ```` ```block``` ```` | unchanged |
//!
//! Markers count only at word boundaries and on one line, so `snake_case`, `2*3*4` and
//! URLs (`https://x.io/a_b_c`) are left alone; code spans and URLs are never touched.
//!
//! ```
//! use zapwoot_chatwoot::markdown::{markdown_to_whatsapp, whatsapp_to_markdown};
//!
//! assert_eq!(markdown_to_whatsapp("**Hi** _there_, see https://x.io/a_b_"), "*Hi* _there_, see https://x.io/a_b_");
//! assert_eq!(whatsapp_to_markdown("*Olá* ~não~ 😀"), "**Olá** ~~não~~ 😀");
//! ```

struct Rule {
    from: &'static [char],
    to: &'static str,
}

const MARKDOWN_TO_WHATSAPP: &[Rule] = &[
    Rule {
        from: &['*', '*'],
        to: "*",
    },
    Rule {
        from: &['_', '_'],
        to: "*",
    },
    Rule {
        from: &['~', '~'],
        to: "~",
    },
    Rule {
        from: &['*'],
        to: "_",
    },
    Rule {
        from: &['_'],
        to: "_",
    },
];

const WHATSAPP_TO_MARKDOWN: &[Rule] = &[
    Rule {
        from: &['*'],
        to: "**",
    },
    Rule {
        from: &['~'],
        to: "~~",
    },
    Rule {
        from: &['_'],
        to: "_",
    },
];

/// Chatwoot Markdown → WhatsApp markup.
#[must_use]
pub fn markdown_to_whatsapp(text: &str) -> String {
    convert(text, MARKDOWN_TO_WHATSAPP)
}

/// WhatsApp markup → Markdown for Chatwoot.
#[must_use]
pub fn whatsapp_to_markdown(text: &str) -> String {
    convert(text, WHATSAPP_TO_MARKDOWN)
}

fn convert(text: &str, rules: &[Rule]) -> String {
    let chars: Vec<char> = text.chars().collect();
    let protected = protected_mask(&chars);
    let mut out = String::with_capacity(text.len() + 8);
    convert_range(&chars, &protected, 0, chars.len(), rules, &mut out);
    out
}

fn convert_range(
    chars: &[char],
    protected: &[bool],
    start: usize,
    end: usize,
    rules: &[Rule],
    out: &mut String,
) {
    let mut i = start;
    while i < end {
        let Some(&c) = chars.get(i) else { break };
        if protected.get(i) == Some(&false)
            && let Some((rule, close)) = find_span(chars, protected, i, end, rules)
        {
            out.push_str(rule.to);
            convert_range(chars, protected, i + rule.from.len(), close, rules, out);
            out.push_str(rule.to);
            i = close + rule.from.len();
            continue;
        }
        out.push(c);
        i += 1;
    }
}

fn starts_with(chars: &[char], at: usize, marker: &[char]) -> bool {
    chars.get(at..at + marker.len()) == Some(marker)
}

fn is_word(c: Option<&char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric())
}

/// A span opening at `i` under the first rule that fits: returns the rule and where its
/// closing marker starts.
fn find_span<'r>(
    chars: &[char],
    protected: &[bool],
    i: usize,
    end: usize,
    rules: &'r [Rule],
) -> Option<(&'r Rule, usize)> {
    rules.iter().find_map(|rule| {
        let marker = rule.from;
        let first = *marker.first()?;
        let n = marker.len();
        if i + n > end || !starts_with(chars, i, marker) {
            return None;
        }
        // Opening: not inside a word, not part of a longer marker run, followed by a non-space.
        let before = i.checked_sub(1).and_then(|p| chars.get(p));
        if is_word(before) || before == Some(&first) {
            return None;
        }
        let inner_start = i + n;
        match chars.get(inner_start) {
            Some(c) if inner_start < end && !c.is_whitespace() && *c != first => {}
            _ => return None,
        }
        // Closing: on the same line, after a non-space, not followed by a word or the marker.
        let mut j = inner_start + 1;
        while j + n <= end {
            let c = *chars.get(j)?;
            if c == '\n' {
                return None;
            }
            if protected.get(j) == Some(&false) && starts_with(chars, j, marker) {
                let prev_space = chars.get(j - 1).is_some_and(|p| p.is_whitespace());
                let after = chars.get(j + n);
                if !prev_space && !is_word(after) && after != Some(&first) {
                    return Some((rule, j));
                }
            }
            j += 1;
        }
        None
    })
}

/// Marks code blocks (```…```), code spans (`…`) and URLs, which are copied verbatim.
fn protected_mask(chars: &[char]) -> Vec<bool> {
    let mut mask = vec![false; chars.len()];
    let mut i = 0;
    while i < chars.len() {
        let fence = ['`', '`', '`'];
        let len = if starts_with(chars, i, &fence) {
            find_from(chars, i + 3, &fence).map(|close| close + 3 - i)
        } else if chars.get(i) == Some(&'`') {
            chars
                .iter()
                .skip(i + 1)
                .take_while(|c| **c != '\n')
                .position(|c| *c == '`')
                .map(|offset| offset + 2)
        } else if url_starts(chars, i) {
            Some(
                chars
                    .iter()
                    .skip(i)
                    .take_while(|c| !c.is_whitespace())
                    .count(),
            )
        } else {
            None
        };
        match len {
            Some(len) => {
                for m in mask.iter_mut().skip(i).take(len) {
                    *m = true;
                }
                i += len.max(1);
            }
            None => i += 1,
        }
    }
    mask
}

fn find_from(chars: &[char], start: usize, marker: &[char]) -> Option<usize> {
    (start..chars.len()).find(|&j| starts_with(chars, j, marker))
}

fn url_starts(chars: &[char], i: usize) -> bool {
    let at_boundary = i == 0 || chars.get(i - 1).is_some_and(|c| !c.is_alphanumeric());
    at_boundary
        && ["https://", "http://", "www."].iter().any(|p| {
            p.chars()
                .enumerate()
                .all(|(k, c)| chars.get(i + k) == Some(&c))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_to_whatsapp_cases() {
        let cases = [
            ("**bold**", "*bold*"),
            ("__bold__", "*bold*"),
            ("*italic*", "_italic_"),
            ("_italic_", "_italic_"),
            ("~~strike~~", "~strike~"),
            ("**bold _and italic_**", "*bold _and italic_*"),
            ("a **b** c *d* e ~~f~~", "a *b* c _d_ e ~f~"),
            ("snake_case_name stays", "snake_case_name stays"),
            ("2*3*4 = 24", "2*3*4 = 24"),
            (
                "see https://x.io/a_b_c_ and **go**",
                "see https://x.io/a_b_c_ and *go*",
            ),
            ("www.site.com/__init__ ok", "www.site.com/__init__ ok"),
            ("`**not bold**` but **bold**", "`**not bold**` but *bold*"),
            ("```\n**code**\n```", "```\n**code**\n```"),
            ("** not bold **", "** not bold **"),
            ("**unclosed bold", "**unclosed bold"),
            ("**two\nlines**", "**two\nlines**"),
            ("😀 **olá** 🎉", "😀 *olá* 🎉"),
            ("", ""),
            ("*", "*"),
            ("****", "****"),
        ];
        for (input, expected) in cases {
            assert_eq!(markdown_to_whatsapp(input), expected, "{input:?}");
        }
    }

    #[test]
    fn whatsapp_to_markdown_cases() {
        let cases = [
            ("*bold*", "**bold**"),
            ("_italic_", "_italic_"),
            ("~strike~", "~~strike~~"),
            ("*bold _it_*", "**bold _it_**"),
            ("price 5*2*3", "price 5*2*3"),
            ("https://wa.me/55_11*x*", "https://wa.me/55_11*x*"),
            ("```*mono*```", "```*mono*```"),
            ("*Olá* ~não~ 😀", "**Olá** ~~não~~ 😀"),
            ("* list item", "* list item"),
        ];
        for (input, expected) in cases {
            assert_eq!(whatsapp_to_markdown(input), expected, "{input:?}");
        }
    }

    #[test]
    fn round_trips_keep_meaning() {
        for wa in ["*a* _b_ ~c~", "hello *world*", "plain text", "`x`"] {
            assert_eq!(markdown_to_whatsapp(&whatsapp_to_markdown(wa)), wa);
        }
    }
}
