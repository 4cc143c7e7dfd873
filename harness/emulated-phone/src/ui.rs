//! The app's element tree, as an automation framework sees it: each node has a kind, an
//! accessibility id (`name`), a visible label, an optional value, and a rectangle. The same tree is
//! presented per platform — XCUITest element types and attributes on iOS and on the desktop client
//! (Appium's Mac2 driver uses the same types), UiAutomator2 classes and attributes on Android — for
//! locators, attributes and page source alike, so what a locator matches is what the XML shows.

use crate::device::Platform;

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The application root.
    Application,
    /// The window.
    Window,
    /// The navigation bar at the top.
    NavigationBar,
    /// A tappable button.
    Button,
    /// Text.
    StaticText,
    /// A text field.
    TextField,
    /// A password field: its value shows as dots.
    SecureTextField,
    /// A list.
    Table,
    /// A row of a list.
    Cell,
    /// An image (the live view).
    Image,
    /// An alert with a message.
    Alert,
}

impl Kind {
    /// The element type (iOS, desktop) or class (Android).
    pub fn type_name(self, platform: Platform) -> &'static str {
        match platform {
            Platform::Ios | Platform::Desktop => match self {
                Kind::Application => "XCUIElementTypeApplication",
                Kind::Window => "XCUIElementTypeWindow",
                Kind::NavigationBar => "XCUIElementTypeNavigationBar",
                Kind::Button => "XCUIElementTypeButton",
                Kind::StaticText => "XCUIElementTypeStaticText",
                Kind::TextField => "XCUIElementTypeTextField",
                Kind::SecureTextField => "XCUIElementTypeSecureTextField",
                Kind::Table => "XCUIElementTypeTable",
                Kind::Cell => "XCUIElementTypeCell",
                Kind::Image => "XCUIElementTypeImage",
                Kind::Alert => "XCUIElementTypeAlert",
            },
            Platform::Android => match self {
                Kind::Application => "android.widget.FrameLayout",
                Kind::Window => "android.widget.LinearLayout",
                Kind::NavigationBar => "android.view.ViewGroup",
                Kind::Button => "android.widget.Button",
                Kind::StaticText => "android.widget.TextView",
                Kind::TextField | Kind::SecureTextField => "android.widget.EditText",
                Kind::Table => "android.widget.ListView",
                Kind::Cell => "android.widget.LinearLayout",
                Kind::Image => "android.widget.ImageView",
                Kind::Alert => "android.widget.FrameLayout",
            },
        }
    }

    /// Whether the node takes typed text.
    pub fn is_text_entry(self) -> bool {
        matches!(self, Kind::TextField | Kind::SecureTextField)
    }
}

/// A rectangle in points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Rect {
    /// Left.
    pub x: u32,
    /// Top.
    pub y: u32,
    /// Width.
    pub w: u32,
    /// Height.
    pub h: u32,
}

/// One element.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// What it is.
    pub kind: Kind,
    /// Accessibility id (iOS `name`, Android `content-desc`); unique within a screen.
    pub name: String,
    /// Visible text.
    pub label: String,
    /// A field's content (secure fields: dots), a cell's state.
    pub value: Option<String>,
    /// Whether it can be tapped or typed into.
    pub enabled: bool,
    /// Where it is.
    pub rect: Rect,
    /// Its children.
    pub children: Vec<Node>,
}

impl Node {
    /// A node with no children, laid out later.
    pub fn new(kind: Kind, name: impl Into<String>, label: impl Into<String>) -> Node {
        Node {
            kind,
            name: name.into(),
            label: label.into(),
            value: None,
            enabled: true,
            rect: Rect::default(),
            children: Vec::new(),
        }
    }

    /// The node with a value.
    pub fn value(mut self, v: impl Into<String>) -> Node {
        self.value = Some(v.into());
        self
    }

    /// The node with children.
    pub fn with(mut self, children: Vec<Node>) -> Node {
        self.children = children;
        self
    }

    /// The node at `rect`.
    pub fn at(mut self, rect: Rect) -> Node {
        self.rect = rect;
        self
    }

    /// Every node, depth first, with its parent's index (`None` for the root).
    pub fn flatten(&self) -> Vec<(&Node, Option<usize>)> {
        fn walk<'a>(n: &'a Node, parent: Option<usize>, out: &mut Vec<(&'a Node, Option<usize>)>) {
            let me = out.len();
            out.push((n, parent));
            for c in &n.children {
                walk(c, Some(me), out);
            }
        }
        let mut out = Vec::new();
        walk(self, None, &mut out);
        out
    }

    /// The node named `name`.
    pub fn find(&self, name: &str) -> Option<&Node> {
        if self.name == name {
            return Some(self);
        }
        self.children.iter().find_map(|c| c.find(name))
    }

    /// The text WebDriver's Get Element Text returns: a field's value, else the label.
    pub fn text(&self, platform: Platform) -> String {
        if self.kind.is_text_entry() {
            return self.value.clone().unwrap_or_default();
        }
        match platform {
            // UiAutomator2's text is the widget's text; a cell's state is its content description's
            // companion, so keep the label.
            Platform::Android => self.label.clone(),
            Platform::Ios | Platform::Desktop => self.label.clone(),
        }
    }

    /// Attribute `attr` as the platform's automation framework names it (`None`: no such
    /// attribute).
    pub fn attribute(&self, platform: Platform, attr: &str) -> Option<String> {
        let b = |v: bool| Some(v.to_string());
        let r = self.rect;
        match platform {
            Platform::Ios | Platform::Desktop => match attr {
                "type" | "elementType" => Some(self.kind.type_name(platform).to_owned()),
                "name" | "identifier" => Some(self.name.clone()),
                "label" => Some(self.label.clone()),
                "value" => self.value.clone().or_else(|| (self.kind == Kind::StaticText).then(|| self.label.clone())),
                "enabled" => b(self.enabled),
                "visible" | "displayed" => b(true),
                "accessible" => b(!matches!(self.kind, Kind::Application | Kind::Window | Kind::Table)),
                "x" => Some(r.x.to_string()),
                "y" => Some(r.y.to_string()),
                "width" => Some(r.w.to_string()),
                "height" => Some(r.h.to_string()),
                "rect" => Some(format!("{{\"x\":{},\"y\":{},\"width\":{},\"height\":{}}}", r.x, r.y, r.w, r.h)),
                _ => None,
            },
            Platform::Android => match attr {
                "class" | "className" => Some(self.kind.type_name(platform).to_owned()),
                "content-desc" | "contentDescription" | "name" => Some(self.name.clone()),
                "text" => Some(match self.kind.is_text_entry() {
                    true => self.value.clone().unwrap_or_default(),
                    false => self.label.clone(),
                }),
                "resource-id" | "resourceId" => Some(format!("com.flir.cloud:id/{}", self.name)),
                "package" => Some("com.flir.cloud".to_owned()),
                "enabled" => b(self.enabled),
                "displayed" => b(true),
                "clickable" => {
                    b(matches!(self.kind, Kind::Button | Kind::Cell | Kind::TextField | Kind::SecureTextField))
                }
                "password" => b(self.kind == Kind::SecureTextField),
                "checkable" | "checked" | "focused" | "selected" | "scrollable" | "long-clickable" => b(false),
                "focusable" => b(self.kind.is_text_entry()),
                "bounds" => Some(format!("[{},{}][{},{}]", r.x, r.y, r.x + r.w, r.y + r.h)),
                _ => None,
            },
        }
    }

    /// The attribute names the page source shows for a node, in order.
    fn source_attributes(platform: Platform) -> &'static [&'static str] {
        match platform {
            Platform::Ios | Platform::Desktop => {
                &["type", "name", "label", "value", "enabled", "visible", "accessible", "x", "y", "width", "height"]
            }
            Platform::Android => &[
                "class",
                "text",
                "resource-id",
                "package",
                "content-desc",
                "checkable",
                "checked",
                "clickable",
                "enabled",
                "focusable",
                "focused",
                "long-clickable",
                "password",
                "scrollable",
                "selected",
                "bounds",
                "displayed",
            ],
        }
    }

    /// Page source XML shaped like XCUITest's (iOS, desktop) or UiAutomator2's (Android).
    pub fn page_source(&self, platform: Platform, screen: (u32, u32)) -> String {
        let mut out = String::new();
        match platform {
            Platform::Ios | Platform::Desktop => {
                out.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<AppiumAUT>\n");
                self.write_xml(platform, 1, 0, &mut out);
                out.push_str("</AppiumAUT>\n");
            }
            Platform::Android => {
                out.push_str(&format!(
                    "<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>\n<hierarchy index=\"0\" class=\"hierarchy\" rotation=\"0\" width=\"{}\" height=\"{}\">\n",
                    screen.0, screen.1
                ));
                self.write_xml(platform, 1, 0, &mut out);
                out.push_str("</hierarchy>\n");
            }
        }
        out
    }

    fn write_xml(&self, platform: Platform, depth: usize, index: usize, out: &mut String) {
        let pad = "  ".repeat(depth);
        let tag = self.kind.type_name(platform);
        out.push_str(&format!("{pad}<{tag} index=\"{index}\""));
        for a in Node::source_attributes(platform) {
            if let Some(v) = self.attribute(platform, a) {
                out.push_str(&format!(" {a}=\"{}\"", xml_escape(&v)));
            }
        }
        if self.children.is_empty() {
            out.push_str("/>\n");
            return;
        }
        out.push_str(">\n");
        for (i, c) in self.children.iter().enumerate() {
            c.write_xml(platform, depth + 1, i, out);
        }
        out.push_str(&format!("{pad}</{tag}>\n"));
    }
}

/// Escape text for an XML attribute.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn android_source_names_the_field_by_content_desc_and_escapes_text() {
        let tree = Node::new(Kind::Application, "FLIR Cloud", "FLIR Cloud").with(vec![
            Node::new(Kind::SecureTextField, "new-password", "New password").value("••••••"),
            Node::new(Kind::StaticText, "msg", "a < b & \"c\""),
        ]);
        let xml = tree.page_source(Platform::Android, (360, 640));
        assert!(
            xml.contains("<android.widget.EditText index=\"0\" class=\"android.widget.EditText\" text=\"••••••\""),
            "{xml}"
        );
        assert!(xml.contains("content-desc=\"new-password\"") && xml.contains("password=\"true\""), "{xml}");
        assert!(xml.contains("text=\"a &lt; b &amp; &quot;c&quot;\""), "{xml}");
        let ios = tree.page_source(Platform::Ios, (375, 667));
        assert!(ios.starts_with("<?xml") && ios.contains("<XCUIElementTypeSecureTextField index=\"0\" type=\"XCUIElementTypeSecureTextField\" name=\"new-password\""), "{ios}");
    }
}
