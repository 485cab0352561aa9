//! A timeline as a mermaid `sequenceDiagram`, as GitHub renders it in a
//! ```` ```mermaid ```` block: one lifeline per actor (client, proxy,
//! IsRunning probe, container, agent, operator, restart coordinator), the
//! model time in front of every message, a note with what the proxy knew
//! whenever a decision starts and at the line that breaks the property,
//! which sits inside a red `rect` with a note saying which property it
//! breaks and why.

use super::diagram::{self, Kind, Participant};
use super::{Explanation, Shown};
use crate::model::properties;

/// Makes `text` safe inside a mermaid message or note: no `;` (a statement
/// separator), no `#` (entity codes), no `%%` (comments), no line breaks.
pub fn escape(text: &str) -> String {
    text.replace(';', ",")
        .replace('#', "no. ")
        .replace("%%", "%")
        .replace(['\n', '\r'], " ")
}

/// The diagram's source (without the ```` ```mermaid ```` fence).
pub fn render(e: &Explanation) -> String {
    let mut s = String::from("sequenceDiagram\n");
    for p in Participant::ALL {
        s.push_str(&format!("    participant {} as {}\n", p.id(), p.name()));
    }
    let entries = e.entries();
    if entries.is_empty() {
        s.push_str(&format!(
            "    Note over {},{}: {}\n",
            Participant::Client.id(),
            Participant::Coordinator.id(),
            escape(&format!("{} — {}", e.title, e.summary))
        ));
        return s;
    }
    for entry in entries {
        let m = diagram::message(entry);
        if m.violation {
            s.push_str("    rect rgb(255, 200, 200)\n");
        }
        let indent = if m.violation { "        " } else { "    " };
        let label = escape(&m.label);
        match m.kind {
            Kind::Note if m.from == m.to => {
                s.push_str(&format!("{indent}Note over {}: {label}\n", m.from.id()))
            }
            Kind::Note => s.push_str(&format!(
                "{indent}Note over {},{}: {label}\n",
                m.from.id(),
                m.to.id()
            )),
            Kind::Call => s.push_str(&format!(
                "{indent}{}->>{}: {label}\n",
                m.from.id(),
                m.to.id()
            )),
            Kind::Reply => s.push_str(&format!(
                "{indent}{}-->>{}: {label}\n",
                m.from.id(),
                m.to.id()
            )),
        }
        if entry.action == crate::trace::What::RequestFailed || m.violation {
            s.push_str(&format!(
                "{indent}Note right of {}: proxy knew: {}\n",
                Participant::Proxy.id(),
                escape(&diagram::knew_line(&entry.knew))
            ));
        }
        if m.violation {
            if e.shown == Shown::Counterexample {
                s.push_str(&format!(
                    "{indent}Note over {},{}: ✗ breaks {}: {}\n",
                    Participant::Client.id(),
                    Participant::Coordinator.id(),
                    e.property,
                    escape(properties::why(e.property))
                ));
            }
            s.push_str("    end\n");
        }
    }
    s
}
