//! Locator strategies, as Appium's drivers take them: `accessibility id`, `id`, `name`,
//! `class name`, `xpath` (a practical subset: `//Type[@attr='v']`, `//*[@label='v' and …]`,
//! `contains(@a,'v')`, `starts-with(…)`, `/` steps, `[n]`), and on iOS and the desktop client
//! `-ios predicate string` (`name == 'x'`, `label CONTAINS 'x'`, joined by AND) and `-ios class
//! chain` (``**/XCUIElementTypeButton[`name == 'x'`]``, `[n]`). They run over the same tree the
//! page source prints, with the platform's own attribute names.

use crate::device::Platform;
use crate::ui::Node;
use crate::w3c::W3cError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Axis {
    Child,
    Descendant,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Eq,
    Ne,
    Contains,
    Begins,
    Ends,
    Exists,
}

#[derive(Debug, Clone, PartialEq)]
struct Cond {
    attr: String,
    op: Op,
    value: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Pred {
    All(Vec<Cond>),
    Index(i64),
}

#[derive(Debug, Clone, PartialEq)]
struct Step {
    axis: Axis,
    /// Element type; `None` is `*`.
    test: Option<String>,
    preds: Vec<Pred>,
}

/// The names of the nodes `using`/`value` matches, in document order, searching below the node
/// named `scope` (the whole tree when `None`).
pub fn find(
    root: &Node,
    platform: Platform,
    using: &str,
    value: &str,
    scope: Option<&str>,
) -> Result<Vec<String>, W3cError> {
    let nodes = root.flatten();
    let start = match scope {
        None => None,
        Some(s) => Some(
            nodes
                .iter()
                .position(|(n, _)| n.name == s)
                .ok_or_else(|| W3cError::stale(format!("element {s:?} is no longer on the screen")))?,
        ),
    };
    let ios_only = |what: &str| -> Result<(), W3cError> {
        if platform == Platform::Android {
            return Err(W3cError::invalid_argument(format!(
                "locator strategy {what:?} is not supported on Android (UiAutomator2)"
            )));
        }
        Ok(())
    };
    let steps = match using {
        "accessibility id" | "name" => {
            vec![descendant_where(vec![Cond { attr: "__name".into(), op: Op::Eq, value: value.into() }])]
        }
        "id" => vec![descendant_where(vec![Cond { attr: "__id".into(), op: Op::Eq, value: value.into() }])],
        "class name" => vec![Step { axis: Axis::Descendant, test: Some(value.to_owned()), preds: Vec::new() }],
        "xpath" => parse_xpath(value)?,
        "-ios predicate string" => {
            ios_only(using)?;
            vec![descendant_where(parse_predicate(value)?)]
        }
        "-ios class chain" => {
            ios_only(using)?;
            parse_class_chain(value)?
        }
        other => {
            return Err(W3cError::invalid_argument(format!(
                "unsupported locator strategy {other:?}: expected accessibility id, id, name, class name, xpath, -ios predicate string or -ios class chain"
            )));
        }
    };
    let children = |of: Option<usize>| -> Vec<usize> {
        match of {
            None => vec![0],
            Some(p) => nodes.iter().enumerate().filter(|(_, (_, parent))| *parent == Some(p)).map(|(i, _)| i).collect(),
        }
    };
    let descendants = |of: Option<usize>| -> Vec<usize> {
        let mut out = Vec::new();
        let mut stack = children(of);
        stack.reverse();
        while let Some(i) = stack.pop() {
            out.push(i);
            let mut c = children(Some(i));
            c.reverse();
            stack.extend(c);
        }
        out
    };
    let mut context: Vec<Option<usize>> = vec![start];
    for step in &steps {
        let mut matched: Vec<usize> = Vec::new();
        for c in &context {
            let candidates = match step.axis {
                Axis::Child => children(*c),
                Axis::Descendant => descendants(*c),
            };
            for i in candidates {
                let node = nodes[i].0;
                let type_ok = step.test.as_deref().is_none_or(|t| t == node.kind.type_name(platform));
                if type_ok && !matched.contains(&i) {
                    matched.push(i);
                }
            }
        }
        for pred in &step.preds {
            matched = match pred {
                Pred::All(conds) => {
                    matched.into_iter().filter(|i| conds.iter().all(|c| holds(nodes[*i].0, platform, c))).collect()
                }
                Pred::Index(n) => {
                    let len = matched.len() as i64;
                    let at = if *n > 0 { n - 1 } else { len + n };
                    if (0..len).contains(&at) { vec![matched[at as usize]] } else { Vec::new() }
                }
            };
        }
        matched.sort_unstable();
        context = matched.into_iter().map(Some).collect();
    }
    Ok(context.into_iter().flatten().map(|i| nodes[i].0.name.clone()).collect())
}

fn descendant_where(conds: Vec<Cond>) -> Step {
    Step { axis: Axis::Descendant, test: None, preds: vec![Pred::All(conds)] }
}

fn holds(node: &Node, platform: Platform, c: &Cond) -> bool {
    let got = match c.attr.as_str() {
        "__name" => Some(node.name.clone()),
        "__id" => {
            let rid = node.attribute(Platform::Android, "resource-id").unwrap_or_default();
            return node.name == c.value || rid == c.value;
        }
        attr => node.attribute(platform, attr),
    };
    let Some(got) = got else { return false };
    let norm = |s: &str| match s.to_ascii_lowercase().as_str() {
        "1" | "yes" | "true" => "true".to_owned(),
        "0" | "no" | "false" => "false".to_owned(),
        _ => s.to_owned(),
    };
    match c.op {
        Op::Exists => true,
        Op::Eq => got == c.value || (norm(&got) == "true" || norm(&got) == "false") && norm(&got) == norm(&c.value),
        Op::Ne => got != c.value,
        Op::Contains => got.contains(&c.value),
        Op::Begins => got.starts_with(&c.value),
        Op::Ends => got.ends_with(&c.value),
    }
}

/// A tiny cursor over a selector string.
struct Cursor<'a> {
    s: &'a str,
    pos: usize,
    what: &'static str,
}

impl<'a> Cursor<'a> {
    fn new(s: &'a str, what: &'static str) -> Self {
        Cursor { s, pos: 0, what }
    }
    fn rest(&self) -> &'a str {
        &self.s[self.pos..]
    }
    fn ws(&mut self) {
        while self.rest().starts_with(char::is_whitespace) {
            self.pos += self.rest().chars().next().map_or(1, char::len_utf8);
        }
    }
    fn eat(&mut self, token: &str) -> bool {
        self.ws();
        if self.rest().starts_with(token) {
            self.pos += token.len();
            true
        } else {
            false
        }
    }
    fn eat_word_ci(&mut self, word: &str) -> bool {
        self.ws();
        let r = self.rest();
        if r.len() >= word.len()
            && r[..word.len()].eq_ignore_ascii_case(word)
            && !r[word.len()..].starts_with(|c: char| c.is_alphanumeric())
        {
            self.pos += word.len();
            true
        } else {
            false
        }
    }
    fn fail(&self, expected: &str) -> W3cError {
        W3cError::invalid_selector(format!(
            "{} {:?}: expected {expected} at offset {} (at {:?})",
            self.what,
            self.s,
            self.pos,
            self.rest()
        ))
    }
    fn name(&mut self) -> Result<String, W3cError> {
        self.ws();
        let n: String =
            self.rest().chars().take_while(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | ':')).collect();
        if n.is_empty() {
            return Err(self.fail("a name"));
        }
        self.pos += n.len();
        Ok(n)
    }
    fn literal(&mut self) -> Result<String, W3cError> {
        self.ws();
        let q = self.rest().chars().next().ok_or_else(|| self.fail("a quoted value"))?;
        if q != '\'' && q != '"' {
            // Bare words (numbers, YES/NO, true/false) in predicates.
            let w: String = self.rest().chars().take_while(|c| c.is_alphanumeric()).collect();
            if w.is_empty() {
                return Err(self.fail("a quoted value"));
            }
            self.pos += w.len();
            return Ok(w);
        }
        let body = &self.rest()[1..];
        let end = body.find(q).ok_or_else(|| self.fail("a closing quote"))?;
        let v = body[..end].to_owned();
        self.pos += end + 2;
        Ok(v)
    }
    fn done(&mut self) -> bool {
        self.ws();
        self.rest().is_empty()
    }
}

fn parse_xpath(s: &str) -> Result<Vec<Step>, W3cError> {
    let mut c = Cursor::new(s, "xpath");
    let mut steps = Vec::new();
    while !c.done() {
        let axis = if c.eat("//") {
            Axis::Descendant
        } else if c.eat("/") || steps.is_empty() {
            // A relative first step (`Cell[...]`) is a child of the document, as `/Cell[...]`.
            Axis::Child
        } else {
            return Err(c.fail("/ or //"));
        };
        let test = if c.eat("*") { None } else { Some(c.name()?) };
        let mut preds = Vec::new();
        while c.eat("[") {
            c.ws();
            if c.rest().starts_with(|ch: char| ch.is_ascii_digit() || ch == '-') {
                let n: String = c.rest().chars().take_while(|ch| ch.is_ascii_digit() || *ch == '-').collect();
                c.pos += n.len();
                preds.push(Pred::Index(n.parse().map_err(|_| c.fail("a position"))?));
            } else {
                let mut conds = vec![xpath_cond(&mut c)?];
                while c.eat_word_ci("and") {
                    conds.push(xpath_cond(&mut c)?);
                }
                preds.push(Pred::All(conds));
            }
            if !c.eat("]") {
                return Err(c.fail("]"));
            }
        }
        steps.push(Step { axis, test, preds });
    }
    if steps.is_empty() {
        return Err(c.fail("a location path"));
    }
    Ok(steps)
}

fn xpath_cond(c: &mut Cursor) -> Result<Cond, W3cError> {
    for (func, op) in [("contains(", Op::Contains), ("starts-with(", Op::Begins)] {
        if c.eat(func) {
            if !c.eat("@") {
                return Err(c.fail("@attribute"));
            }
            let attr = c.name()?;
            if !c.eat(",") {
                return Err(c.fail(","));
            }
            let value = c.literal()?;
            if !c.eat(")") {
                return Err(c.fail(")"));
            }
            return Ok(Cond { attr, op, value });
        }
    }
    if !c.eat("@") {
        return Err(c.fail("@attribute, contains() or starts-with()"));
    }
    let attr = c.name()?;
    let op = if c.eat("!=") {
        Op::Ne
    } else if c.eat("=") {
        Op::Eq
    } else {
        return Ok(Cond { attr, op: Op::Exists, value: String::new() });
    };
    Ok(Cond { attr, op, value: c.literal()? })
}

fn parse_predicate(s: &str) -> Result<Vec<Cond>, W3cError> {
    let mut c = Cursor::new(s, "-ios predicate string");
    let conds = predicate_conds(&mut c)?;
    if !c.done() {
        return Err(c.fail("AND or the end"));
    }
    Ok(conds)
}

fn predicate_conds(c: &mut Cursor) -> Result<Vec<Cond>, W3cError> {
    let mut conds = Vec::new();
    loop {
        let attr = c.name()?;
        let op = if c.eat("==") || c.eat("=") {
            Op::Eq
        } else if c.eat("!=") {
            Op::Ne
        } else if c.eat_word_ci("CONTAINS") {
            Op::Contains
        } else if c.eat_word_ci("BEGINSWITH") {
            Op::Begins
        } else if c.eat_word_ci("ENDSWITH") {
            Op::Ends
        } else {
            return Err(c.fail("==, !=, CONTAINS, BEGINSWITH or ENDSWITH"));
        };
        conds.push(Cond { attr, op, value: c.literal()? });
        if !(c.eat_word_ci("AND") || c.eat("&&")) {
            return Ok(conds);
        }
    }
}

fn parse_class_chain(s: &str) -> Result<Vec<Step>, W3cError> {
    let mut c = Cursor::new(s, "-ios class chain");
    let mut steps = Vec::new();
    let mut axis = Axis::Child;
    loop {
        if c.eat("**") {
            axis = Axis::Descendant;
            if !c.eat("/") {
                return Err(c.fail("/ after **"));
            }
            continue;
        }
        let test = if c.eat("*") { None } else { Some(c.name()?) };
        let mut preds = Vec::new();
        while c.eat("[") {
            if c.eat("`") {
                let conds = predicate_conds(&mut c)?;
                if !c.eat("`") {
                    return Err(c.fail("a closing backtick"));
                }
                preds.push(Pred::All(conds));
            } else {
                let n: String = c.rest().chars().take_while(|ch| ch.is_ascii_digit() || *ch == '-').collect();
                c.pos += n.len();
                preds.push(Pred::Index(n.parse().map_err(|_| c.fail("`predicate` or a position"))?));
            }
            if !c.eat("]") {
                return Err(c.fail("]"));
            }
        }
        steps.push(Step { axis, test, preds });
        axis = Axis::Child;
        if c.done() {
            return Ok(steps);
        }
        if !c.eat("/") {
            return Err(c.fail("/"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ui::Kind;

    fn tree() -> Node {
        Node::new(Kind::Application, "app", "FLIR Cloud").with(vec![Node::new(Kind::Window, "window", "").with(vec![
            Node::new(Kind::Button, "menu", "Menu"),
            Node::new(Kind::Table, "list", "").with(vec![
                Node::new(Kind::Cell, "device-SN1", "SN1").value("online"),
                Node::new(Kind::Cell, "device-SN2", "SN2").value("offline"),
            ]),
            Node::new(Kind::Button, "settings", "Settings"),
        ])])
    }

    fn ios(using: &str, value: &str) -> Vec<String> {
        find(&tree(), Platform::Ios, using, value, None).unwrap()
    }

    #[test]
    fn every_strategy_finds_the_same_button() {
        let want = vec!["settings".to_owned()];
        assert_eq!(ios("accessibility id", "settings"), want);
        assert_eq!(ios("xpath", "//XCUIElementTypeButton[@name='settings']"), want);
        assert_eq!(ios("xpath", "//*[@label=\"Settings\"]"), want);
        assert_eq!(ios("-ios predicate string", "name == 'settings'"), want);
        assert_eq!(ios("-ios predicate string", "label == 'Settings' AND type == 'XCUIElementTypeButton'"), want);
        assert_eq!(ios("-ios class chain", "**/XCUIElementTypeButton[`name == 'settings'`]"), want);
        assert_eq!(ios("xpath", "/XCUIElementTypeApplication/XCUIElementTypeWindow/XCUIElementTypeButton[2]"), want);
        let android =
            find(&tree(), Platform::Android, "xpath", "//android.widget.Button[@content-desc='settings']", None)
                .unwrap();
        assert_eq!(android, want);
        assert_eq!(find(&tree(), Platform::Android, "id", "com.flir.cloud:id/settings", None).unwrap(), want);
    }

    #[test]
    fn cells_by_value_contains_and_within_an_element() {
        assert_eq!(
            ios("xpath", "//XCUIElementTypeCell[contains(@name,'SN') and @value='offline']"),
            vec!["device-SN2".to_owned()]
        );
        assert_eq!(ios("-ios class chain", "**/XCUIElementTypeCell[-1]"), vec!["device-SN2".to_owned()]);
        assert_eq!(find(&tree(), Platform::Ios, "class name", "XCUIElementTypeCell", Some("list")).unwrap().len(), 2);
        assert!(ios("accessibility id", "nothing").is_empty());
    }

    #[test]
    fn bad_selectors_and_strategies_are_refused_with_the_right_code() {
        let e = find(&tree(), Platform::Ios, "xpath", "//Button[@name=", None).unwrap_err();
        assert_eq!(e.code, "invalid selector", "{e}");
        let e = find(&tree(), Platform::Android, "-ios predicate string", "name == 'x'", None).unwrap_err();
        assert_eq!(e.code, "invalid argument", "{e}");
        let e = find(&tree(), Platform::Ios, "css selector", "#x", None).unwrap_err();
        assert_eq!(e.code, "invalid argument", "{e}");
    }
}
