//! The crate's modules form a DAG that points down: read from the source, every `crate::` and
//! `super::` path a file names is an edge from its module to the one named. The layers are
//! the table in `src/lib.rs`'s doc (one line per layer, top first), so the documented
//! diagram and the checked one are the same text.
//!
//! Fails on: a cycle among the top-level modules, a cycle among the children of any module,
//! a top-level module importing one in a higher layer, a module missing from the table, and
//! a route module importing another route module.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path (`["http", "routes", "charts"]`) and the modules it names, with the line
/// that names each (for the failure message).
type Edges = BTreeMap<Vec<String>, BTreeMap<Vec<String>, String>>;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src is readable") {
        let path = entry.expect("directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// `src/http/routes/mod.rs` -> `["http", "routes"]`; `src/lib.rs` -> `[]`.
fn module_of(file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src()).expect("under src");
    let mut parts: Vec<String> = rel
        .with_extension("")
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts
}

/// Code without comments: `//` to the end of a line (doc comments name modules in prose).
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(|l| l.split("//").next().unwrap_or(""))
        .filter(|l| !l.trim().is_empty())
}

/// Splits `text` at top-level commas (not those inside nested braces).
fn group_items(text: &str) -> Vec<&str> {
    let (mut depth, mut start, mut items) = (0usize, 0usize, Vec::new());
    for (i, c) in text.char_indices() {
        match c {
            '{' => depth += 1,
            '}' if depth == 0 => {
                items.push(&text[start..i]);
                return items;
            }
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    items.push(&text[start..]);
    items
}

/// The module paths `rest` names after `prefix`: lower-case segments up to the first item
/// (a type, a trait, `*`), with each item of a `{...}` group expanded.
fn expand(prefix: Vec<String>, rest: &str, out: &mut Vec<Vec<String>>) {
    let mut path = prefix;
    let mut rest = rest.trim_start();
    loop {
        if let Some(group) = rest.strip_prefix('{') {
            for item in group_items(group) {
                expand(path.clone(), item, out);
            }
            return;
        }
        let word: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if word.is_empty() || word == "self" || !word.starts_with(|c: char| c.is_lowercase()) {
            break;
        }
        rest = &rest[word.len()..];
        path.push(word);
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => break,
        }
    }
    out.push(path);
}

/// Every module path a line names: `crate::a::b` as `[a, b]`, and `super::x` resolved
/// against `module` (`super` of a file's module is its parent; inside an inline module such
/// as `mod tests`, it is the file's module itself).
fn named_paths(module: &[String], inline: bool, line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for (i, _) in line.match_indices("crate::") {
        expand(Vec::new(), &line[i + "crate::".len()..], &mut out);
    }
    for (i, _) in line.match_indices("super::") {
        if line[..i].ends_with("::") {
            continue;
        }
        let mut base = module.to_vec();
        if !inline {
            base.pop();
        }
        let mut rest = &line[i + "super::".len()..];
        while let Some(r) = rest.strip_prefix("super::") {
            base.pop();
            rest = r;
        }
        expand(base, rest, &mut out);
    }
    out
}

/// Every module's references to other modules, from the library's sources (the binary's
/// `main.rs` is its own crate and is left out).
fn edges() -> Edges {
    let mut files = Vec::new();
    rust_files(&src(), &mut files);
    let mut edges = Edges::new();
    for file in files.iter().filter(|f| !f.ends_with("main.rs")) {
        let module = module_of(file);
        let text = std::fs::read_to_string(file).expect("readable source");
        // Inline modules (`mod tests {`) come last in a file; past the first, `super` names
        // the file's own module.
        let mut inline = false;
        for line in code_lines(&text) {
            let t = line.trim_start();
            inline |= (t.starts_with("mod ") || t.starts_with("pub mod ")) && t.ends_with('{');
            for path in named_paths(&module, inline, line) {
                let shown = file.strip_prefix(src()).unwrap_or(file);
                let at = format!("src/{}: {}", shown.display(), line.trim());
                edges
                    .entry(module.clone())
                    .or_default()
                    .entry(path)
                    .or_insert(at);
            }
        }
    }
    edges
}

/// Edges between the children of `parent`: from the child a file belongs to, to the child
/// the path it names lies in, when both lie under `parent` and differ.
fn child_graph(edges: &Edges, parent: &[String]) -> BTreeMap<String, BTreeMap<String, String>> {
    let mut g: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
    for (from, targets) in edges {
        let Some(a) = from.strip_prefix(parent).and_then(|r| r.first()) else {
            continue;
        };
        for (to, at) in targets {
            let Some(b) = to.strip_prefix(parent).and_then(|r| r.first()) else {
                continue;
            };
            if a != b {
                g.entry(a.clone())
                    .or_default()
                    .entry(b.clone())
                    .or_insert(at.clone());
            }
        }
    }
    g
}

/// A cycle in `g`, as the list of its edges with the line that makes each, if there is one.
fn find_cycle(g: &BTreeMap<String, BTreeMap<String, String>>) -> Option<Vec<String>> {
    fn visit(
        g: &BTreeMap<String, BTreeMap<String, String>>,
        node: &str,
        stack: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(start) = stack.iter().position(|n| n == node) {
            let mut cycle: Vec<String> = stack[start..].to_vec();
            cycle.push(node.to_string());
            return Some(
                cycle
                    .windows(2)
                    .map(|w| format!("{} -> {} ({})", w[0], w[1], g[&w[0]][&w[1]]))
                    .collect(),
            );
        }
        if !done.insert(node.to_string()) {
            return None;
        }
        stack.push(node.to_string());
        for next in g.get(node).into_iter().flat_map(|m| m.keys()) {
            if let Some(c) = visit(g, next, stack, done) {
                return Some(c);
            }
        }
        stack.pop();
        None
    }
    let mut done = BTreeSet::new();
    g.keys()
        .find_map(|n| visit(g, n, &mut Vec::new(), &mut done))
}

/// The layers of `src/lib.rs`'s diagram, top first: the lines of its `text` block, each
/// `layer-name: module module ...`.
fn layers() -> Vec<Vec<String>> {
    let lib = std::fs::read_to_string(src().join("lib.rs")).expect("lib.rs");
    let block = lib
        .split("//! ```text")
        .nth(1)
        .and_then(|b| b.split("//! ```").next())
        .expect("lib.rs documents its layers in a ```text block");
    block
        .lines()
        .filter_map(|l| l.trim_start_matches("//!").split_once(':'))
        .map(|(_, mods)| mods.split_whitespace().map(str::to_string).collect())
        .collect()
}

#[test]
fn no_module_imports_one_that_imports_it_back() {
    let edges = edges();
    let parents: BTreeSet<Vec<String>> = edges
        .keys()
        .flat_map(|m| (0..m.len()).map(|n| m[..n].to_vec()))
        .collect();
    for parent in parents {
        let cycle = find_cycle(&child_graph(&edges, &parent));
        assert!(
            cycle.is_none(),
            "a cycle among the modules of crate::{}:\n  {}",
            parent.join("::"),
            cycle.unwrap_or_default().join("\n  ")
        );
    }
}

#[test]
fn top_level_modules_import_only_their_layer_and_those_below() {
    let layers = layers();
    let layer_of = |m: &str| layers.iter().position(|l| l.iter().any(|x| x == m));
    let top = child_graph(&edges(), &[]);
    let mut modules: BTreeSet<&String> = top.keys().collect();
    modules.extend(top.values().flat_map(|m| m.keys()));
    for m in &modules {
        assert!(
            layer_of(m).is_some(),
            "module {m} is missing from the layer table in src/lib.rs"
        );
    }
    for (from, targets) in &top {
        for (to, at) in targets {
            assert!(
                layer_of(to) >= layer_of(from),
                "{from} imports {to}, which sits in a higher layer ({at})"
            );
        }
    }
}

#[test]
fn route_modules_never_import_each_other() {
    let routes = ["http".to_string(), "routes".to_string()];
    let g = child_graph(&edges(), &routes);
    assert!(
        g.is_empty(),
        "route modules import each other: {g:?}; share through crate::http instead"
    );
}

#[test]
fn the_check_sees_a_cycle_through_a_grouped_import_and_a_super_path() {
    let v = |s: &str| s.split("::").map(str::to_string).collect::<Vec<_>>();
    let mut edges = Edges::new();
    for (module, line) in [
        ("a::x", "use crate::a::{y, z::Thing};"),
        ("a::y", "use super::x::helper;"),
    ] {
        for path in named_paths(&v(module), false, line) {
            edges
                .entry(v(module))
                .or_default()
                .insert(path, line.to_string());
        }
    }
    let cycle = find_cycle(&child_graph(&edges, &v("a"))).expect("x -> y -> x");
    assert_eq!(cycle.len(), 2, "{cycle:?}");
    assert!(find_cycle(&child_graph(&edges, &[])).is_none(), "{edges:?}");
}
