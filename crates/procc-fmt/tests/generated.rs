//! The invariants on generated files: a small deterministic generator writes random valid
//! process files from the grammar's constructs (every step kind, random settings in random
//! order, odd spacing, semicolons, blank lines, explicit defaults, expressions with random
//! parentheses) with comments everywhere.
//!
//! Every generated comment says where it must end up: `//# <n> L <key>` belongs before the item
//! whose formatted line starts with `<key>`, `T <key>` at the end of that item's line, `C <key>`
//! after the closing `}` of that step or process, `E` at the end of its block or file.

mod common;

use procc_diagnostics::FileId;

/// splitmix64: small, deterministic, good enough.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn word(&mut self, words: &[&'static str]) -> &'static str {
        words[self.below(words.len())]
    }
}

/// One item of a block as generated: its source text (which may span lines when it holds a
/// triple-quoted text), the start of its formatted line, and whether its formatted form ends
/// on a line of closing `"""`.
struct Item {
    text: String,
    key: String,
    ends_triple: bool,
    /// Comments may be attached to it (not so for settings the formatter moves or drops).
    commentable: bool,
    /// For steps: the block's items.
    block: Option<Vec<Item>>,
}

impl Item {
    fn line(text: String, key: &str) -> Item {
        Item {
            text,
            key: key.to_string(),
            ends_triple: false,
            commentable: true,
            block: None,
        }
    }
}

struct Gen {
    rng: Rng,
    comments: usize,
    /// Settings are written in canonical order (so comments must keep their order).
    canonical: bool,
}

const WORDS: &[&str] = &[
    "Call",
    "the",
    "owner",
    "about",
    "price",
    "Straße",
    "✓",
    "{braces}",
    "a\\b",
    "say \"hi\"",
    "tab\there",
    "50%",
    "x-y",
    "ok?",
];

impl Gen {
    fn sp(&mut self) -> &'static str {
        self.rng.word(&[" ", " ", " ", "  ", "\t", " \t "])
    }

    fn comment(&mut self, tag: &str) -> String {
        self.comments += 1;
        let text = format!("//# {} {tag}", self.comments);
        if self.rng.chance(20) {
            format!("{text}   ")
        } else {
            text
        }
    }

    fn indent(&mut self, depth: usize) -> String {
        if self.rng.chance(70) {
            " ".repeat(2 * depth)
        } else {
            (*self.rng.pick(&["", " ", "\t", "      ", "\t  "])).to_string()
        }
    }

    fn words(&mut self, max: usize) -> String {
        let n = 1 + self.rng.below(max);
        (0..n)
            .map(|_| *self.rng.pick(WORDS))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// A text value and how it is written; `lines` allows line breaks.
    fn text(&mut self, lines: bool, depth: usize) -> (String, bool) {
        if lines && self.rng.chance(40) {
            let n = 2 + self.rng.below(3);
            let value_lines: Vec<String> = (0..n)
                .map(|i| {
                    if i > 0 && i + 1 < n && self.rng.chance(20) {
                        String::new()
                    } else if i > 0 && self.rng.chance(30) {
                        format!("  {}", self.words(3))
                    } else {
                        self.words(4)
                    }
                })
                .collect();
            let value = value_lines.join("\n");
            if self.rng.chance(50) {
                // Triple quotes, indented anywhere at or right of the line.
                let base = 2 * depth + 2 + self.rng.below(4);
                let mut raw = String::from("\"\"\"\n");
                for line in &value_lines {
                    if !line.is_empty() {
                        raw.push_str(&" ".repeat(base));
                        raw.push_str(line);
                    }
                    raw.push('\n');
                }
                raw.push_str(&" ".repeat(2 * depth));
                raw.push_str("\"\"\"");
                return (raw, true);
            }
            return (escape(&value), true);
        }
        let value = self.words(4);
        (escape(&value), false)
    }

    /// A one-line text.
    fn quote(&mut self) -> String {
        let value = self.words(3);
        escape(&value)
    }

    fn id(&mut self) -> String {
        format!(
            "\"{}\"",
            self.rng
                .pick(&["k.schmidt", "nrw", "sales", "hot-leads", "tenant", "x y"])
        )
    }

    fn record(&mut self) -> &'static str {
        self.rng.word(&["property", "address"])
    }

    fn comma(&mut self) -> &'static str {
        self.rng.word(&[", ", ",", " ", " , "])
    }

    fn records(&mut self) -> String {
        let n = 1 + self.rng.below(2);
        (0..n)
            .map(|_| self.record())
            .collect::<Vec<_>>()
            .join(self.comma())
    }

    fn days(&mut self, business: bool, hours: bool) -> String {
        let n = 1 + self.rng.below(30);
        let roll = self.rng.below(10);
        if business && roll < 3 {
            let unit = self
                .rng
                .pick(&["business days", "business day", "business  days"]);
            return format!("{n} {unit}");
        }
        if hours && roll < 5 {
            return format!("{n} {}", self.rng.pick(&["hours", "hour"]));
        }
        format!(
            "{n}{}{}",
            self.rng.pick(&[" ", "  ", ""]),
            self.rng.pick(&["days", "day"])
        )
    }

    fn responsible(&mut self) -> String {
        match self.rng.below(4) {
            0 => "owner".into(),
            1 => format!("supervisor of {}", self.record()),
            _ => format!("user {}", self.id()),
        }
    }

    fn field(&mut self) -> String {
        format!(
            "{}.{}",
            self.rng.pick(&["property", "address", "project"]),
            self.rng
                .pick(&["purchase_price", "rooms", "birthday", "status", "x"])
        )
    }

    fn atom(&mut self) -> String {
        match self.rng.below(14) {
            0..=2 => self.field(),
            3 => format!("{}", self.rng.below(1000)),
            4 => format!(
                "{}.{}",
                self.rng.below(100),
                self.rng.pick(&["5", "25", "0", "125"])
            ),
            5 => format!(
                "{} {}",
                self.rng.below(500_000),
                self.rng.pick(&["EUR", "€"])
            ),
            6 => format!(
                "{}{}",
                self.rng.below(200),
                self.rng.pick(&[" sqm", " m²", " m2", "sqm"])
            ),
            7 => format!("{}%", self.rng.below(100)),
            8 => self.quote(),
            9 => (*self.rng.pick(&["true", "false"])).into(),
            10 => (*self.rng.pick(&["2026-12-24", "2024-02-29"])).into(),
            11 => self.days(true, true),
            12 => (*self.rng.pick(&[
                "today()",
                "changed(purchase_price, rooms)",
                "is_set(address.birthday)",
            ]))
            .into(),
            _ => {
                let n = self.rng.below(3);
                let items: Vec<String> = (0..n).map(|_| self.atom()).collect();
                format!("[{}]", items.join(", "))
            }
        }
    }

    /// A random expression, fully parenthesized where grouping matters and sometimes more.
    fn expr(&mut self, depth: usize) -> String {
        let e = if depth == 0 || self.rng.chance(30) {
            self.atom()
        } else {
            match self.rng.below(10) {
                0 => format!("not {}", self.group(depth - 1)),
                1 => format!("-{}", self.group(depth - 1)),
                _ => {
                    let op = self.rng.pick(&[
                        "or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "in",
                    ]);
                    format!("{} {op} {}", self.group(depth - 1), self.group(depth - 1))
                }
            }
        };
        if self.rng.chance(10) {
            format!("({e})")
        } else {
            e
        }
    }

    /// An operand: an expression in parentheses unless it is an atom.
    fn group(&mut self, depth: usize) -> String {
        let e = self.expr(depth);
        let atomic = !e.contains(' ')
            || e.starts_with('"') && e.ends_with('"') && !e[1..e.len() - 1].contains('"');
        if atomic || e.starts_with('(') && balanced_outer(&e) {
            e
        } else {
            format!("({e})")
        }
    }

    /// A condition after `when`, which cannot start with `(`.
    fn condition(&mut self) -> String {
        let e = self.expr(3);
        if e.starts_with('(') {
            format!("property.x == true and {e}")
        } else {
            e
        }
    }

    /// Writes the items of a block; returns the text.
    fn block(&mut self, items: &[Item], depth: usize, out: &mut String, end_tag: &str) {
        let mut joined = false;
        for (i, item) in items.iter().enumerate() {
            let leading = item.commentable && !joined && self.rng.chance(25);
            if !joined {
                for _ in 0..self.rng.below(3) {
                    if self.rng.chance(15) {
                        out.push('\n');
                    }
                }
                if leading {
                    for _ in 0..1 + self.rng.below(2) {
                        let c = self.comment(&format!("L {}", item.key));
                        out.push_str(&self.indent(depth));
                        out.push_str(&c);
                        out.push('\n');
                        if self.rng.chance(15) {
                            out.push('\n');
                        }
                    }
                }
                out.push_str(&self.indent(depth));
            }
            let commented = self.item(item, depth, out);
            let last = i + 1 == items.len();
            if commented {
                out.push('\n');
                continue;
            }
            if !last && item.block.is_none() && self.rng.chance(15) {
                out.push_str(self.rng.word(&["; ", ";", " ; "]));
                joined = true;
                continue;
            }
            joined = false;
            if item.block.is_none() && item.commentable && self.rng.chance(25) {
                let key = if item.ends_triple {
                    "\"\"\"".to_string()
                } else {
                    item.key.clone()
                };
                let c = self.comment(&format!("T {key}"));
                out.push_str(self.sp());
                out.push_str(&c);
            } else if self.rng.chance(10) {
                out.push(';');
            }
            out.push('\n');
        }
        if self.rng.chance(20) {
            if self.rng.chance(30) {
                out.push('\n');
            }
            let c = self.comment(end_tag);
            out.push_str(&self.indent(depth));
            out.push_str(&c);
            out.push('\n');
        }
    }

    /// Writes an item; returns whether a comment ends its line.
    fn item(&mut self, item: &Item, depth: usize, out: &mut String) -> bool {
        out.push_str(&item.text);
        let Some(block) = &item.block else {
            return false;
        };
        let braces = !block.is_empty() || self.rng.chance(30);
        if !braces {
            if self.rng.chance(20) {
                let c = self.comment(&format!("T {}", item.key));
                out.push(' ');
                out.push_str(&c);
                return true;
            }
            return false;
        }
        out.push_str(self.sp());
        out.push('{');
        if block.is_empty() && self.rng.chance(50) {
            out.push_str(" }");
            return false;
        }
        if self.rng.chance(20) {
            let c = self.comment(&format!("T {}", item.key));
            out.push(' ');
            out.push_str(&c);
        }
        out.push('\n');
        self.block(block, depth + 1, out, "E");
        out.push_str(&self.indent(depth));
        out.push('}');
        if self.rng.chance(20) {
            let c = self.comment(&format!("C {}", item.key));
            out.push(' ');
            out.push_str(&c);
            return true;
        }
        false
    }

    fn maybe_shuffle(&mut self, items: &mut [Item]) {
        if self.canonical {
            return;
        }
        for i in (1..items.len()).rev() {
            let j = self.rng.below(i + 1);
            items.swap(i, j);
        }
    }

    fn header(&mut self, steps: &[String]) -> Vec<Item> {
        let mut out = Vec::new();
        if self.rng.chance(30) {
            let text = match self.rng.below(4) {
                0 => "start after previous".to_string(),
                1 => format!(
                    "start{}{} after previous",
                    self.sp(),
                    self.days(false, true)
                ),
                2 => format!(
                    "start {} business days on {} after previous",
                    1 + self.rng.below(9),
                    self.id()
                ),
                _ => format!(
                    "start {} business days after previous on {}",
                    1 + self.rng.below(9),
                    self.id()
                ),
            };
            out.push(Item::line(text, "start"));
        }
        if self.rng.chance(40) {
            let text = format!("responsible{}{}", self.sp(), self.responsible());
            out.push(Item::line(text, "responsible"));
        }
        if self.rng.chance(20) {
            let text = if self.rng.chance(30) {
                "concerns nothing".to_string()
            } else {
                format!("concerns {}", self.records())
            };
            out.push(Item::line(text, "concerns"));
        }
        if self.rng.chance(30) {
            let n = 1 + self.rng.below(3);
            let rungs: Vec<String> = (0..n)
                .map(|_| {
                    let mut after = self.days(true, false);
                    if after.contains("business") {
                        after.push_str(&format!(" on {}", self.id()));
                    }
                    match self.rng.below(5) {
                        0 => after,
                        1 => format!("{after} -> email controller"),
                        2 => format!("{after}->remind responsible"),
                        3 => format!("{after} -> reassign to {}", self.responsible()),
                        _ => format!("{after} -> reassign {}", self.responsible()),
                    }
                })
                .collect();
            out.push(Item::line(
                format!("deadline {}", rungs.join(", ")),
                "deadline",
            ));
        }
        if self.rng.chance(15) {
            let target = self.rng.pick(steps).clone();
            out.push(Item::line(format!("next {target}"), "next"));
        }
        if self.rng.chance(20) {
            out.push(Item::line("allow  skip".into(), "allow skip"));
        }
        out
    }

    fn text_setting(&mut self, word: &str, lines: bool, depth: usize) -> Item {
        let (text, multi) = self.text(lines, depth);
        let mut item = Item::line(format!("{word}{}{text}", self.sp()), word);
        item.ends_triple = multi;
        item
    }

    /// A step's head and kind settings.
    fn step(&mut self, name: &str, steps: &[String]) -> Item {
        const DEPTH: usize = 2;
        let mut settings: Vec<Item> = Vec::new();
        let kind = *self.rng.pick(procc_syntax::ast::STEP_KINDS);
        let bare = matches!(kind, "merge" | "end");
        let mode = |g: &mut Gen, times: bool| -> String {
            match g.rng.below(5) {
                0 => " manual".into(),
                1 => " automatic".into(),
                2 if times => format!(" automatic at {}", g.rng.pick(&["09:00", "7:45", "23:59"])),
                _ => String::new(),
            }
        };
        let args = match kind {
            "task" => {
                if self.rng.chance(40) {
                    settings.push(self.text_setting("description", true, DEPTH));
                }
                for _ in 0..self.rng.below(3) {
                    settings.push(self.text_setting("attach", false, DEPTH));
                }
                if self.rng.chance(30) {
                    let id = self.id();
                    settings.push(Item::line(format!("processor user {id}"), "processor"));
                }
                self.quote()
            }
            "appointment" => {
                if self.rng.chance(40) {
                    settings.push(self.text_setting("type", false, DEPTH));
                }
                if self.rng.chance(30) {
                    settings.push(Item::line("all day".into(), "all day"));
                }
                if self.rng.chance(30) {
                    settings.push(self.text_setting("description", true, DEPTH));
                }
                for _ in 0..self.rng.below(2) {
                    settings.push(self.text_setting("attach", false, DEPTH));
                }
                self.quote()
            }
            "letter" => {
                if self.rng.chance(50) {
                    let f = self.rng.pick(&["word", "pdf"]);
                    settings.push(Item::line(format!("format {f}"), "format"));
                }
                if self.rng.chance(30) {
                    settings.push(self.text_setting("description", true, DEPTH));
                }
                format!("template {}", self.id())
            }
            "email" => {
                if self.rng.chance(40) {
                    let v = self.rng.pick(&["", " yes", " no", " true", " false"]);
                    settings.push(Item::line(format!("signature{v}"), "signature"));
                }
                if self.rng.chance(30) {
                    settings.push(self.text_setting("mailbox", false, DEPTH));
                }
                if self.rng.chance(30) {
                    settings.push(self.text_setting("contact", false, DEPTH));
                }
                format!("template {}{}", self.id(), mode(self, true))
            }
            "forward_email" => {
                let recipient = |g: &mut Gen| {
                    if g.rng.chance(50) {
                        format!("user {}", g.id())
                    } else {
                        g.quote()
                    }
                };
                if self.rng.chance(50) {
                    let r = recipient(self);
                    settings.push(Item::line(format!("to {r}"), "to"));
                }
                for word in ["cc", "bcc"] {
                    for _ in 0..self.rng.below(3) {
                        let r = recipient(self);
                        settings.push(Item::line(format!("{word} {r}"), word));
                    }
                }
                if self.rng.chance(30) {
                    settings.push(self.text_setting("note", true, DEPTH));
                }
                if self.rng.chance(30) {
                    settings.push(Item::line("signature no".into(), "signature"));
                }
                mode(self, true).trim_start().to_string()
            }
            "sms" => {
                if self.rng.chance(40) {
                    let w = match self.rng.below(3) {
                        0 => "send anytime".to_string(),
                        1 => "send at 10:00".to_string(),
                        _ => "send between 9:00 and 18:30".to_string(),
                    };
                    settings.push(Item::line(w, "send"));
                }
                if self.rng.chance(40) {
                    let to = self.rng.pick(&["to address", "to supervisor of address"]);
                    settings.push(Item::line((*to).into(), "to"));
                }
                if self.rng.chance(40) {
                    let s = self.rng.pick(&[
                        "sender property supervisor",
                        "sender client",
                        "sender group",
                    ]);
                    settings.push(Item::line((*s).into(), "sender"));
                }
                if self.rng.chance(20) {
                    settings.push(self.text_setting("contact", false, DEPTH));
                }
                let text = if self.rng.chance(50) {
                    self.quote()
                } else {
                    format!("template {}", self.id())
                };
                let m = match self.rng.below(3) {
                    0 => " automatic",
                    1 => " manual",
                    _ => "",
                };
                format!("{text}{m}")
            }
            "owner_notification" => {
                if self.rng.chance(40) {
                    let p = if self.rng.chance(50) {
                        "period all".to_string()
                    } else {
                        format!("period last {} days", 1 + self.rng.below(60))
                    };
                    settings.push(Item::line(p, "period"));
                }
                if self.rng.chance(30) {
                    settings.push(Item::line("property none".into(), "property none"));
                }
                let channel = self.rng.pick(&["email", "letter"]);
                format!("{channel} template {}{}", self.id(), mode(self, true))
            }
            "resubmission" => {
                if self.rng.chance(50) {
                    let mut d = self.days(true, false);
                    if d.contains("business") {
                        d.push_str(&format!(" on {}", self.id()));
                    }
                    settings.push(Item::line(format!("due {d}"), "due"));
                }
                self.quote()
            }
            "write_values" => {
                if self.rng.chance(30) {
                    format!("{} manual", self.field())
                } else {
                    format!("{} = {}", self.field(), self.expr(3))
                }
            }
            "create_project" => {
                if self.rng.chance(40) {
                    settings.push(self.text_setting("title", false, DEPTH));
                }
                if self.rng.chance(30) {
                    settings.push(Item::line("link following tasks".into(), "link"));
                }
                format!("template {}", self.id())
            }
            "assign_project" => {
                if self.rng.chance(50) {
                    self.quote()
                } else {
                    String::new()
                }
            }
            "assign_address" => {
                if self.rng.chance(50) {
                    "without property".into()
                } else {
                    String::new()
                }
            }
            "assign_property" => {
                if self.rng.chance(50) {
                    format!("address from {}", self.id())
                } else {
                    String::new()
                }
            }
            "follow_up" => {
                if self.rng.chance(50) {
                    let c = if self.rng.chance(30) {
                        "carry nothing".to_string()
                    } else {
                        format!("carry {}", self.records())
                    };
                    settings.push(Item::line(c, "carry"));
                }
                (*self.rng.pick(&["revaluation", "other_process"])).into()
            }
            "decision" => {
                let mode = self.rng.below(3);
                let question = self.quote();
                let in_head = mode == 2 && self.rng.chance(30) || mode < 2 && self.rng.chance(60);
                let in_block = mode < 2 && !in_head || mode == 2 && !in_head && self.rng.chance(30);
                if in_block {
                    let mut q = Item::line(format!("question {question}"), "question");
                    q.commentable = false;
                    settings.push(q);
                }
                if self.rng.chance(30) {
                    settings.push(Item::line("notify decider".into(), "notify decider"));
                }
                for word in ["yes", "no"] {
                    if self.rng.chance(80) {
                        let target = self.rng.pick(steps).clone();
                        let arrow = self.rng.pick(&[" -> ", "->", "  ->  "]);
                        settings.push(Item::line(
                            format!("{word}{arrow}{target}"),
                            &format!("{word} ->"),
                        ));
                    }
                }
                let head_q = if in_head {
                    format!(" {question}")
                } else {
                    String::new()
                };
                match mode {
                    0 => format!("manual{head_q}"),
                    1 => format!("by email{head_q}"),
                    _ => format!("automatic{head_q} when {}", self.condition()),
                }
            }
            "webhook" => match self.rng.below(4) {
                0 => (*self
                    .rng
                    .pick(&["sprengnetter", "pricehubble", "get()", "sprengnetter()"]))
                .into(),
                1 => format!("newsletter_connector(list: {})", self.expr(2)),
                _ => {
                    for _ in 0..self.rng.below(3) {
                        let (a, b) = (self.quote(), self.quote());
                        settings.push(Item::line(format!("header {a} {b}"), "header"));
                    }
                    if self.rng.chance(50) {
                        let (text, _) = self.text(true, DEPTH);
                        let mut item = Item::line(format!("body {text}"), "body");
                        item.ends_triple = true;
                        settings.push(item);
                    }
                    let method = self.rng.pick(&["get", "post", "PUT", "patch", "DELETE"]);
                    format!("{method} \"https://hooks.example/{{property.id}}?a=1&b=2\"")
                }
            },
            "set_status" => format!("{} {}", self.record(), self.id()),
            "activity_log" => {
                if self.rng.chance(40) {
                    settings.push(self.text_setting("note", true, DEPTH));
                }
                for _ in 0..self.rng.below(3) {
                    settings.push(self.text_setting("feature", false, DEPTH));
                }
                if self.rng.chance(30) {
                    settings.push(Item::line("tracked".into(), "tracked"));
                }
                let t = if self.rng.chance(50) {
                    format!(" type {}", self.id())
                } else {
                    String::new()
                };
                format!("kind {}{t}", self.id())
            }
            "portal_sync" => {
                if self.rng.chance(50) {
                    if self.rng.chance(30) {
                        let mut all = Item::line("portals all".into(), "portals");
                        all.commentable = false;
                        settings.push(all);
                    } else {
                        let n = 1 + self.rng.below(3);
                        let names: Vec<String> = (0..n).map(|_| self.id()).collect();
                        let sep = self.comma();
                        settings.push(Item::line(
                            format!("portals {}", names.join(sep)),
                            "portals",
                        ));
                    }
                }
                let action = self.rng.pick(&["publish", "remove"]);
                let m = self.rng.pick(&["", " automatic", " manual"]);
                format!("{action}{m}")
            }
            "lead_distribution" => {
                if self.rng.chance(40) {
                    let f = self.field();
                    settings.push(Item::line(format!("capacity {f}"), "capacity"));
                }
                if self.rng.chance(40) {
                    let v = self.rng.pick(&["", " yes", " no"]);
                    settings.push(Item::line(format!("respect absence{v}"), "respect absence"));
                }
                if self.rng.chance(40) {
                    let t = if self.rng.chance(50) {
                        format!(" type {}", self.id())
                    } else {
                        String::new()
                    };
                    settings.push(Item::line(
                        format!("activity kind {}{t}", self.id()),
                        "activity",
                    ));
                }
                if self.rng.chance(50) {
                    format!("among group {}", self.id())
                } else {
                    let n = 1 + self.rng.below(3);
                    let users: Vec<String> = (0..n).map(|_| self.id()).collect();
                    let sep = self.comma();
                    format!("among users {}", users.join(sep))
                }
            }
            _ => String::new(),
        };
        if !bare {
            let mut header = self.header(steps);
            header.append(&mut settings);
            settings = header;
        }
        self.maybe_shuffle(&mut settings);
        if self.canonical {
            // Branches come last; the question, written first, moves into the head.
            settings.sort_by_key(|i| match i.key.as_str() {
                "question" => 0,
                "yes ->" => 2,
                "no ->" => 3,
                _ => 1,
            });
        }
        let head = if args.is_empty() {
            format!("step {name}:{}{kind}", self.sp())
        } else {
            format!(
                "step{}{name}{}:{}{kind}{}{args}",
                self.sp(),
                self.rng.pick(&["", " "]),
                self.sp(),
                self.sp()
            )
        };
        Item {
            text: head,
            key: format!("step {name}:"),
            ends_triple: false,
            commentable: true,
            block: Some(settings),
        }
    }

    fn trigger(&mut self) -> String {
        let mut out = String::from("trigger ");
        match self.rng.below(5) {
            0 => out.push_str(&format!("{} saved", self.record())),
            1 => out.push_str(&format!("{} status {}", self.record(), self.id())),
            2 => {
                out.push_str("date address.birthday");
                if self.rng.chance(60) {
                    let dir = self.rng.pick(&["before", "after"]);
                    out.push_str(&format!(" {} {dir}", self.days(false, false)));
                }
                if self.rng.chance(50) {
                    out.push_str(" ignore year");
                }
            }
            3 => {
                out.push_str("email received");
                if self.rng.chance(50) {
                    out.push_str(&format!(" feature {}", self.id()));
                }
            }
            _ => {
                out.push_str("activity received");
                for word in ["kind", "type", "feature"] {
                    if self.rng.chance(50) {
                        out.push_str(&format!(" {word} {}", self.id()));
                    }
                }
            }
        }
        if self.rng.chance(30) {
            out.push_str(&format!(" owner {}", self.responsible()));
        }
        if self.rng.chance(30) {
            out.push_str(&format!(" filter {}", self.id()));
        }
        if self.rng.chance(40) {
            out.push_str(&format!(" when {}", self.condition()));
        }
        out
    }

    fn process(&mut self, index: usize) -> Item {
        const DEPTH: usize = 1;
        let mut settings = Vec::new();
        if self.rng.chance(40) {
            settings.push(self.text_setting("description", true, DEPTH));
        }
        if self.rng.chance(50) {
            let v = self.rng.pick(&["", " yes", " no", " true", " false"]);
            settings.push(Item::line(format!("active{v}"), "active"));
        }
        if self.rng.chance(60) {
            let mut words: Vec<&str> = Vec::new();
            for w in ["property", "address", "email"] {
                if self.rng.chance(50) {
                    words.push(w);
                }
            }
            if words.is_empty() {
                words.push("property");
            }
            let sep = self.comma();
            settings.push(Item::line(format!("needs {}", words.join(sep)), "needs"));
        }
        if self.rng.chance(40) {
            let c = match self.rng.below(3) {
                0 => "controller starter".to_string(),
                1 => format!("controller user {}", self.id()),
                _ => format!("controller email {}", self.id()),
            };
            settings.push(Item::line(c, "controller"));
        }
        if self.rng.chance(30) {
            settings.push(Item::line("notify controller on cancel".into(), "notify"));
        }
        for _ in 0..self.rng.below(3) {
            let t = self.trigger();
            settings.push(Item::line(t, "trigger"));
        }
        let count = 1 + self.rng.below(6);
        let names: Vec<String> = (0..count).map(|i| format!("s{i}")).collect();
        let steps: Vec<Item> = names.iter().map(|n| self.step(n, &names)).collect();
        // Settings may also come after steps when not canonical.
        let mut items = Vec::new();
        if self.canonical || self.rng.chance(70) {
            self.maybe_shuffle(&mut settings);
            items.extend(settings);
            items.extend(steps);
        } else {
            items.extend(steps);
            items.extend(settings);
        }
        let title = if self.rng.chance(70) {
            format!(" {}", self.quote())
        } else {
            String::new()
        };
        Item {
            text: format!("process{}p{index}{title}", self.sp()),
            key: format!("process p{index}"),
            ends_triple: false,
            commentable: true,
            block: Some(items),
        }
    }

    fn file(&mut self) -> String {
        let n = 1 + self.rng.below(3);
        let processes: Vec<Item> = (0..n).map(|i| self.process(i)).collect();
        let mut out = String::new();
        self.block(&processes, 0, &mut out, "E");
        out
    }
}

fn escape(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            // Vary how the same characters are written, by the text's length.
            '\t' if value.len() & 1 == 0 => out.push_str("\\t"),
            '✓' if value.len() & 2 == 0 => out.push_str("\\u{2713}"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether the first `(` of `e` closes at its end.
fn balanced_outer(e: &str) -> bool {
    let mut depth = 0;
    let mut in_text = false;
    let mut escaped = false;
    for (i, c) in e.char_indices() {
        if in_text {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_text = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_text = true,
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i + 1 == e.len();
                }
            }
            _ => {}
        }
    }
    false
}

/// Checks that every `//# n <tag>` comment is where its tag says.
fn check_places(name: &str, formatted: &str) {
    let lines: Vec<&str> = formatted.lines().collect();
    let next_code = |from: usize| -> Option<&str> {
        lines[from + 1..]
            .iter()
            .map(|l| l.find("//#").map_or(*l, |at| &l[..at]).trim())
            .find(|l| !l.is_empty() && !l.starts_with("//"))
    };
    for (i, line) in lines.iter().enumerate() {
        let Some(at) = line.find("//#") else {
            continue;
        };
        let code = line[..at].trim();
        let tag = line[at + 3..].trim();
        let mut parts = tag.splitn(3, ' ');
        let (_, kind, key) = (
            parts.next(),
            parts.next().unwrap_or(""),
            parts.next().unwrap_or(""),
        );
        let ok = match kind {
            "L" => code.is_empty() && next_code(i).is_some_and(|l| l.starts_with(key)),
            "E" => code.is_empty() && next_code(i).is_none_or(|l| l == "}"),
            "T" if key == "\"\"\"" => code == key,
            "T" => code.starts_with(key),
            "C" => code == "}" || code.starts_with(key),
            _ => false,
        };
        assert!(
            ok,
            "{name}: comment misplaced at line {}: {line}\n{formatted}",
            i + 1
        );
    }
}

fn run(seed: u64, canonical: bool) -> (String, String) {
    let mut generator = Gen {
        rng: Rng(seed),
        comments: 0,
        canonical,
    };
    let text = generator.file();
    let (_, diagnostics) = procc_syntax::parse(FileId(0), &text);
    assert!(
        diagnostics.is_empty(),
        "seed {seed}: the generator wrote an invalid file: {diagnostics:#?}\n{text}"
    );
    let name = format!("seed {seed}");
    let formatted = common::check(&name, &text, canonical);
    check_places(&name, &formatted);
    assert_eq!(
        common::comments(&text).len(),
        generator.comments,
        "{name}: the parser did not see every comment"
    );
    (text, formatted)
}

#[test]
fn generated_files_keep_their_tree_their_comments_and_format_stably() {
    // `PROCC_FMT_SEEDS=100000 cargo test -p procc-fmt --release --test generated` for a longer run.
    let seeds = std::env::var("PROCC_FMT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(400);
    for seed in 0..seeds {
        run(seed, false);
    }
}

#[test]
fn generated_files_in_canonical_order_keep_their_comments_in_order() {
    for seed in 1000..1300 {
        run(seed, true);
    }
}

#[test]
fn the_generator_covers_every_step_kind() {
    let mut all = String::new();
    for seed in 0..100 {
        all.push_str(&run(seed, false).1);
    }
    for kind in procc_syntax::ast::STEP_KINDS {
        assert!(
            all.contains(&format!(": {kind}")),
            "no `{kind}` step generated"
        );
    }
    for needle in ["\"\"\"", "//#", " -> ", " not ", "(", "business day"] {
        assert!(all.contains(needle), "nothing like `{needle}` generated");
    }
}

/// Generated files with random damage: formatting never panics, and whatever it accepts it
/// formats stably to the same tree.
#[test]
fn damaged_generated_files_never_panic_and_what_is_accepted_formats_stably() {
    const BITS: &[&str] = &[
        "{",
        "}",
        "\"",
        "\n",
        ";",
        "//",
        "(",
        ")",
        " ",
        "x",
        "-",
        "\r",
        "\"\"\"",
        ",",
        "\t",
        "é",
        "step s9: end",
        "yes -> s0",
        "\n\n",
    ];
    let mut accepted = 0;
    for seed in 0..300 {
        let mut generator = Gen {
            rng: Rng(seed),
            comments: 0,
            canonical: false,
        };
        let mut text = generator.file();
        let mut rng = Rng(seed ^ 0xDEAD_BEEF);
        for _ in 0..1 + rng.below(4) {
            let mut at = rng.below(text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            if rng.chance(50) {
                let bit = rng.word(BITS);
                text.insert_str(at, bit);
            } else {
                let end = text[at..].chars().next().map_or(at, |c| at + c.len_utf8());
                text.replace_range(at..end, "");
            }
        }
        if procc_fmt::format(FileId(0), &text).is_ok() {
            accepted += 1;
            common::check(&format!("damaged seed {seed}"), &text, false);
        }
    }
    assert!(accepted > 10, "only {accepted} damaged files were accepted");
}
