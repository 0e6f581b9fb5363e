//! The architecture, checked: `src/` is one folder per part, imports run one
//! way (no file imports a file that, directly or through others, imports it
//! back), each part imports only from its own folder or a lower part, and a
//! model's name appears only in `src/model/` (so a tenth runtime is its own
//! file plus one registry line, and no claim or chart silently misses it).
//!
//! The checker reads the source as text: it strips comments (doc comments
//! and their links included) and string literals, collects every
//! `crate::…` and `super::…` path (in `use` and inline, `use crate::{a, b}`
//! groups expanded), and resolves each to the module file it names (the
//! longest existing module path). A folder's `mod.rs` naming its own
//! children by bare name (`mod fan_out;` then `fan_out::claim()`) is how a
//! registry lists its entries, not an import, and is not collected. The
//! layer table below is the one in `docs/src/architecture.md`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The parts, bottom-up: a file may import from its own folder or from a
/// folder of a strictly lower rank. Two folders of the same rank never
/// import each other.
const RANKS: &[(&str, u32)] = &[
    ("os", 0),
    ("stats", 0),
    ("record", 1),
    ("workload", 2),
    ("net", 3),
    ("model", 4),
    ("lab", 5),
    ("server", 6),
    ("claims", 7),
    ("report", 7),
    ("workshop", 7),
    ("workshop", 7),
    ("cli", 8),
];

/// The report reads records only: beside its own folder, this is everything
/// it may import (the registry in `model/` for names, order and colours;
/// `workload/` for the workloads' names and parameters). Never lab, server,
/// net, claims or cli, whatever their rank.
const REPORT_MAY_IMPORT: &[&str] = &["record", "stats", "os", "model", "workload"];

/// Every place outside `src/model/` where a model's name may appear as a
/// string literal in code that runs (unit tests may invent records), and
/// why. Everywhere else asks the registry (`model::all()`,
/// `model::thread_per_task()`, `model::async_models()`, a model's
/// capabilities), so a tenth runtime is its own file plus one line in
/// `model::all()`, and no claim or chart silently misses it. Inside
/// `src/model/`, each model's name is written once, in its own file.
///
/// Each entry is (file under `src/`, names, why). The claims listed here
/// are the ones still defined over named runtimes (converting them to
/// capabilities is open work, and shrinking this list is welcome).
const MODEL_NAME_ALLOWED: &[(&str, &[&str], &str)] = &[
    (
        "claims/cpu.rs",
        &["sequential", "tokio-current", "tokio", "smol", "threads", "thread-pool", "rayon"],
        "the CPU claims compare named roles: tokio's one-thread flavour against its \
         multi-thread one, thread pools against a thread per task, and sequential as the baseline",
    ),
    (
        "claims/fan_out.rs",
        &["sequential", "thread-pool", "tokio", "smol", "threads"],
        "sequential is the baseline and the fixed thread-pool the demonstration, by definition; \
         the scaled-up cells are a sample of two async runtimes and a thread per task \
         (the small cells ask the registry: claims::all_at_once)",
    ),
    (
        "claims/file_io.rs",
        &["thread-pool", "threads"],
        "the two blocking ways of reading files the claim compares async with",
    ),
    (
        "claims/one_request.rs",
        &["sequential"],
        "the one-at-a-time baseline, by definition (the concurrent cells ask the registry)",
    ),
    (
        "claims/server_throughput.rs",
        &["threads", "thread-pool", "tokio"],
        "each case names the blocking and async servers it compares",
    ),
    (
        "claims/spawn_switch.rs",
        &["sequential", "threads", "thread-pool", "tokio", "tokio-current", "smol"],
        "the spawn and switch cases name the primitives they time",
    ),
    ("cli/args.rs", &["threads", "tokio"], "`--threads` is an argument's name; `overhead` defaults to tokio"),
    ("workshop/exercises.rs", &["threads"], "a unit (peak threads), not the model"),
    ("cli/table.rs", &["threads"], "a column header (peak threads), not the model"),
    (
        "lab/overhead.rs",
        &["tokio", "threads"],
        "the bare reference programs in examples/ exist for these two models",
    ),
    (
        "report/claims.rs",
        &["thread-pool", "tokio"],
        "a claim chart's line for spawn_blocking or inline work takes the colour of the model it stands for",
    ),
    ("report/data.rs", &["sequential"], "the speedup baseline, by definition"),
    (
        "report/published.rs",
        &["threads", "tokio", "async-std", "smol"],
        "the runtimes the published figures are about",
    ),
    (
        "server/sweep.rs",
        &["threads", "tokio"],
        "the quick server run's two models (tests/server.rs checks both)",
    ),
];

/// One import found in the source: where it is and the path it names.
#[derive(Debug, Clone)]
struct Import {
    line: usize,
    /// Absolute module path segments (`["record", "result", "CellRecord"]`).
    path: Vec<String>,
}

/// The source of one file, with comments removed and string literals
/// emptied (same lines), plus the string literals with their lines.
struct Lexed {
    code: String,
    /// Each literal's line, text and position (in chars) in `code`.
    strings: Vec<(usize, String, usize)>,
}

/// Removes comments and empties string and char literals, keeping newlines
/// so line numbers still hold. Handles `"…"` with escapes, raw strings
/// (`r#"…"#`), byte strings, nested `/* */` and lifetimes (`'a`).
fn lex(source: &str) -> Lexed {
    let chars: Vec<char> = source.chars().collect();
    let mut code = String::with_capacity(source.len());
    let mut strings = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    while i < chars.len() {
        let c = chars[i];
        if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                        code.push('\n');
                    }
                    i += 1;
                }
            }
        } else if c == '"'
            || ((c == 'r' || c == 'b') && !is_ident(at(i.wrapping_sub(1))) && raw_start(&chars, i))
        {
            // A string: plain, byte, raw or raw byte.
            let start_line = line;
            let mut j = i;
            if chars[j] == 'b' {
                j += 1;
            }
            let raw = chars[j] == 'r';
            let mut hashes = 0;
            if raw {
                j += 1;
                while chars[j] == '#' {
                    hashes += 1;
                    j += 1;
                }
            }
            j += 1; // the opening quote
            let mut text = String::new();
            loop {
                let d = at(j);
                if d == '\0' {
                    break;
                }
                if d == '\n' {
                    line += 1;
                    code.push('\n');
                }
                if !raw && d == '\\' {
                    text.push(d);
                    text.push(at(j + 1));
                    if at(j + 1) == '\n' {
                        line += 1;
                        code.push('\n');
                    }
                    j += 2;
                    continue;
                }
                if d == '"' && (0..hashes).all(|k| at(j + 1 + k) == '#') {
                    j += 1 + hashes;
                    break;
                }
                text.push(d);
                j += 1;
            }
            strings.push((start_line, text, code.chars().count()));
            code.push_str("\"\"");
            i = j;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if at(i + 1) == '\\' {
                let mut j = i + 2;
                while at(j) != '\'' && at(j) != '\0' {
                    j += 1;
                }
                code.push_str("' '");
                i = j + 1;
            } else if at(i + 2) == '\'' {
                code.push_str("' '");
                i += 3;
            } else {
                code.push(c);
                i += 1;
            }
        } else {
            if c == '\n' {
                line += 1;
            }
            code.push(c);
            i += 1;
        }
    }
    Lexed { code, strings }
}

/// The char ranges of `code` inside `#[cfg(test)] mod … { … }` blocks.
fn test_modules(code: &str) -> Vec<std::ops::Range<usize>> {
    let text: Vec<char> = code.chars().collect();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < text.len() {
        if starts_with(&text, i, "#[cfg(test)]") {
            let mut j = i + "#[cfg(test)]".len();
            while j < text.len() && text[j] != '{' && text[j] != ';' {
                j += 1;
            }
            let header: String = text[i..j].iter().collect();
            if text.get(j) == Some(&'{') && header.contains("mod ") {
                let start = j;
                let mut depth = 0;
                while j < text.len() {
                    match text[j] {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
                ranges.push(start..j);
            }
            i = j.max(i + 1);
        } else {
            i += 1;
        }
    }
    ranges
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// True when a raw or byte string starts at `i` (`r"`, `r#"`, `b"`, `br"`).
fn raw_start(chars: &[char], i: usize) -> bool {
    let mut j = i;
    if chars.get(j) == Some(&'b') {
        j += 1;
        if chars.get(j) == Some(&'"') {
            return true;
        }
    }
    if chars.get(j) != Some(&'r') {
        return false;
    }
    j += 1;
    while chars.get(j) == Some(&'#') {
        j += 1;
    }
    chars.get(j) == Some(&'"')
}

/// The module path a file under `src/` defines (`src/record/result.rs` →
/// `["record", "result"]`, `src/lab/mod.rs` → `["lab"]`).
fn module_of(relative: &Path) -> Vec<String> {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts
}

/// Reads a use-tree or a path at `text[pos..]` (after `crate::` or
/// `super::`), appending every full path it names to `out`.
fn read_tree(
    text: &[char],
    mut pos: usize,
    prefix: Vec<String>,
    out: &mut Vec<Vec<String>>,
) -> usize {
    let mut path = prefix;
    loop {
        while text.get(pos).is_some_and(|c| c.is_whitespace()) {
            pos += 1;
        }
        match text.get(pos) {
            Some('{') => {
                pos += 1;
                loop {
                    while text
                        .get(pos)
                        .is_some_and(|c| c.is_whitespace() || *c == ',')
                    {
                        pos += 1;
                    }
                    if text.get(pos) == Some(&'}') || pos >= text.len() {
                        return pos + 1;
                    }
                    pos = read_tree(text, pos, path.clone(), out);
                }
            }
            Some(c) if is_ident(*c) => {
                let start = pos;
                while text.get(pos).is_some_and(|c| is_ident(*c)) {
                    pos += 1;
                }
                let word: String = text[start..pos].iter().collect();
                if word != "self" {
                    path.push(word);
                }
                if text.get(pos) == Some(&':') && text.get(pos + 1) == Some(&':') {
                    pos += 2;
                    continue;
                }
                // The path ends here; in a `use`, an `as alias` may follow.
                out.push(path);
                skip_alias(text, &mut pos);
                return pos;
            }
            Some('*') => {
                out.push(path);
                return pos + 1;
            }
            _ => {
                out.push(path);
                return pos;
            }
        }
    }
}

/// Skips ` as name` after a use-tree item.
fn skip_alias(text: &[char], pos: &mut usize) {
    let rest: String = text[*pos..text.len().min(*pos + 40)].iter().collect();
    let trimmed = rest.trim_start();
    if let Some(after) = trimmed.strip_prefix("as ") {
        let skipped = rest.len() - trimmed.len() + 3;
        let name_len = after
            .trim_start()
            .chars()
            .take_while(|c| is_ident(*c))
            .count();
        let spaces = after.len() - after.trim_start().len();
        *pos += skipped + spaces + name_len;
    }
}

/// Every `crate::` and `super::` path in a file's code, made absolute.
/// `super::` inside an inline `mod name { … }` refers to the file's own
/// module, so the checker tracks inline modules by their braces.
fn imports_in(code: &str, module: &[String]) -> Vec<Import> {
    let text: Vec<char> = code.chars().collect();
    let mut imports = Vec::new();
    // Inline module stack: (name, brace depth at which it closes).
    let mut inline: Vec<(String, usize)> = Vec::new();
    let mut depth = 0usize;
    let mut pending_mod: Option<String> = None;
    // The line each character is on (a use-tree may span lines).
    let mut line_at = Vec::with_capacity(text.len());
    let mut line = 1;
    for c in &text {
        line_at.push(line);
        if *c == '\n' {
            line += 1;
        }
    }
    let mut i = 0;
    while i < text.len() {
        let c = text[i];
        let line = line_at[i];
        if c == '{' {
            depth += 1;
            if let Some(name) = pending_mod.take() {
                inline.push((name, depth));
            }
        } else if c == '}' {
            if inline.last().is_some_and(|(_, d)| *d == depth) {
                inline.pop();
            }
            depth = depth.saturating_sub(1);
        } else if c == ';' {
            pending_mod = None;
        }
        let boundary = i == 0 || !is_ident(text[i - 1]) && text[i - 1] != ':';
        if boundary && starts_with(&text, i, "mod ") {
            let name: String = text[i + 4..].iter().take_while(|c| is_ident(**c)).collect();
            pending_mod = Some(name);
        }
        let crate_at = boundary && starts_with(&text, i, "crate::");
        let dollar_crate = i > 0 && text[i - 1] == '$' && starts_with(&text, i, "crate::");
        if crate_at || dollar_crate {
            let mut paths = Vec::new();
            let end = read_tree(&text, i + "crate::".len(), Vec::new(), &mut paths);
            for path in paths {
                imports.push(Import { line, path });
            }
            i = end.max(i + 1);
            continue;
        }
        if boundary && starts_with(&text, i, "super::") {
            // The module `super` starts from: the file's own module plus its
            // inline modules; each `super` goes one up.
            let mut base: Vec<String> = module.to_vec();
            base.extend(inline.iter().map(|(n, _)| n.clone()));
            let mut j = i;
            while starts_with(&text, j, "super::") {
                base.pop();
                j += "super::".len();
                while text.get(j).is_some_and(|c| c.is_whitespace()) {
                    j += 1;
                }
            }
            let mut paths = Vec::new();
            let end = read_tree(&text, j, base, &mut paths);
            for path in paths {
                imports.push(Import { line, path });
            }
            i = end.max(i + 1);
            continue;
        }
        i += 1;
    }
    imports
}

fn starts_with(text: &[char], at: usize, word: &str) -> bool {
    word.chars()
        .enumerate()
        .all(|(k, w)| text.get(at + k) == Some(&w))
}

/// One file of the crate: its path (relative to `src/`), module path and text.
struct SourceFile {
    relative: PathBuf,
    module: Vec<String>,
    lexed: Lexed,
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every library file (not `main.rs`, the binary, which may use anything).
fn library_files() -> Vec<SourceFile> {
    let root = src();
    let mut paths = Vec::new();
    rust_files(&root, &mut paths);
    paths
        .into_iter()
        .filter(|p| p != &root.join("main.rs"))
        .map(|path| {
            let relative = path.strip_prefix(&root).unwrap().to_path_buf();
            let source = std::fs::read_to_string(&path).unwrap();
            SourceFile {
                module: module_of(&relative),
                lexed: lex(&source),
                relative,
            }
        })
        .collect()
}

/// An import edge between two files, with where it is written.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Edge {
    from: String,
    to: String,
    line: usize,
}

/// Resolves every import to the file whose module is the longest prefix of
/// its path; imports of the importing file itself are dropped.
fn edges(files: &[SourceFile]) -> Vec<Edge> {
    let by_module: BTreeMap<Vec<String>, String> = files
        .iter()
        .map(|f| (f.module.clone(), f.relative.display().to_string()))
        .collect();
    // A `#[macro_export]` macro is named `crate::NAME!` but lives in the
    // file that defines it.
    let mut exported_macros: BTreeMap<Vec<String>, String> = BTreeMap::new();
    for file in files {
        let code = &file.lexed.code;
        for (at, _) in code.match_indices("#[macro_export]") {
            let rest = code[at..]
                .trim_start_matches("#[macro_export]")
                .trim_start();
            if let Some(after) = rest.strip_prefix("macro_rules!") {
                let name: String = after
                    .trim_start()
                    .chars()
                    .take_while(|c| is_ident(*c))
                    .collect();
                exported_macros.insert(vec![name], file.relative.display().to_string());
            }
        }
    }
    let mut out = Vec::new();
    for file in files {
        let name = file.relative.display().to_string();
        for import in imports_in(&file.lexed.code, &file.module) {
            let target = exported_macros.get(&import.path).or_else(|| {
                (0..=import.path.len())
                    .rev()
                    .find_map(|n| by_module.get(&import.path[..n]))
            });
            if let Some(to) = target {
                // A folder's `mod.rs` naming a file of its own folder (its
                // `runtimes` re-exports, say) declares its children: not an
                // import, like `mod fan_out;` itself.
                let own_child =
                    name.ends_with("mod.rs") && to.starts_with(name.trim_end_matches("mod.rs"));
                if *to != name && !own_child {
                    out.push(Edge {
                        from: name.clone(),
                        to: to.clone(),
                        line: import.line,
                    });
                }
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

/// Strongly connected components of more than one node (Tarjan), each a
/// cycle of files that import each other.
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        on_stack: BTreeSet<&'a str>,
        next: usize,
        found: Vec<Vec<String>>,
    }
    fn visit<'a>(s: &mut State<'a>, node: &'a str) {
        s.index.insert(node, s.next);
        s.low.insert(node, s.next);
        s.next += 1;
        s.stack.push(node);
        s.on_stack.insert(node);
        if let Some(targets) = s.graph.get(node) {
            for to in targets {
                let to = to.as_str();
                if !s.index.contains_key(to) {
                    visit(s, to);
                    let low = s.low[node].min(s.low[to]);
                    s.low.insert(node, low);
                } else if s.on_stack.contains(to) {
                    let low = s.low[node].min(s.index[to]);
                    s.low.insert(node, low);
                }
            }
        }
        if s.low[node] == s.index[node] {
            let mut component = Vec::new();
            loop {
                let top = s.stack.pop().unwrap();
                s.on_stack.remove(top);
                component.push(top.to_string());
                if top == node {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.found.push(component);
            }
        }
    }
    let mut state = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        next: 0,
        found: Vec::new(),
    };
    let mut nodes: BTreeSet<&str> = graph.keys().map(String::as_str).collect();
    nodes.extend(graph.values().flatten().map(String::as_str));
    for node in nodes {
        if !state.index.contains_key(node) {
            visit(&mut state, node);
        }
    }
    state.found
}

/// One line per cycle, naming the imports that close it (file:line → file).
fn describe_cycles(edges: &[Edge]) -> Vec<String> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for edge in edges {
        graph
            .entry(edge.from.clone())
            .or_default()
            .insert(edge.to.clone());
    }
    cycles(&graph)
        .into_iter()
        .map(|component| {
            let members: BTreeSet<&String> = component.iter().collect();
            let inside: Vec<String> = edges
                .iter()
                .filter(|e| members.contains(&e.from) && members.contains(&e.to))
                .map(|e| format!("src/{}:{} imports src/{}", e.from, e.line, e.to))
                .collect();
            format!(
                "cycle of {} files:\n    {}",
                component.len(),
                inside.join("\n    ")
            )
        })
        .collect()
}

/// The folder (part) a file belongs to: `lab/cell.rs` → `lab`.
fn part(file: &str) -> &str {
    file.split('/').next().unwrap()
}

fn rank(part: &str) -> Option<u32> {
    RANKS
        .iter()
        .find(|(name, _)| *name == part)
        .map(|(_, r)| *r)
}

/// Whether `from`'s part may import `to`'s part.
fn allowed(from: &str, to: &str) -> bool {
    if from == to {
        return true;
    }
    if from == "report" {
        return REPORT_MAY_IMPORT.contains(&to);
    }
    match (rank(from), rank(to)) {
        (Some(f), Some(t)) => t < f,
        _ => false,
    }
}

/// One line per import that breaks the layer rules.
fn layer_violations(edges: &[Edge]) -> Vec<String> {
    edges
        .iter()
        .filter(|e| e.from != "lib.rs" && !allowed(part(&e.from), part(&e.to)))
        .map(|e| {
            format!(
                "src/{}:{} imports src/{} ({} may not import {})",
                e.from,
                e.line,
                e.to,
                part(&e.from),
                part(&e.to)
            )
        })
        .collect()
}

#[test]
fn src_holds_only_main_lib_and_one_folder_per_part() {
    let mut stray = Vec::new();
    for entry in std::fs::read_dir(src()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            if rank(&name).is_none() {
                stray.push(format!(
                    "src/{name}/ is not a part in the layer table (RANKS)"
                ));
            }
        } else if name != "main.rs" && name != "lib.rs" {
            stray.push(format!("src/{name} belongs in a folder"));
        }
    }
    assert!(stray.is_empty(), "{}", stray.join("\n"));
}

#[test]
fn no_file_imports_a_file_that_imports_it_back() {
    let found = describe_cycles(&edges(&library_files()));
    assert!(
        found.is_empty(),
        "import cycles in src/:\n{}",
        found.join("\n")
    );
}

#[test]
fn each_part_imports_only_its_own_folder_or_a_lower_part() {
    let found = layer_violations(&edges(&library_files()));
    assert!(
        found.is_empty(),
        "imports against the layers:\n{}",
        found.join("\n")
    );
}

#[test]
fn a_model_name_is_written_only_in_src_model() {
    let names: BTreeSet<&str> = async_vs_blocking::model::all()
        .iter()
        .map(|m| m.name())
        .collect();
    let mut found = Vec::new();
    for file in library_files() {
        let relative = file.relative.display().to_string();
        if part(&relative) == "model" {
            continue;
        }
        let tests = test_modules(&file.lexed.code);
        for (line, literal, at) in &file.lexed.strings {
            // Unit tests invent records with model names; only the code
            // that runs must ask the registry.
            if !names.contains(literal.as_str()) || tests.iter().any(|r| r.contains(at)) {
                continue;
            }
            let excused = MODEL_NAME_ALLOWED
                .iter()
                .any(|(f, allowed, _)| *f == relative && allowed.contains(&literal.as_str()));
            if !excused {
                found.push(format!(
                    "src/{relative}:{line} names the model \"{literal}\""
                ));
            }
        }
    }
    assert!(
        found.is_empty(),
        "ask the registry (model::all(), by_name, the model's capabilities) instead of naming a model:\n{}",
        found.join("\n")
    );
}

#[test]
fn every_allowed_model_name_is_still_used() {
    // An allow-list entry whose literal is gone would hide a future one.
    for (file, names, _) in MODEL_NAME_ALLOWED {
        let text = std::fs::read_to_string(src().join(file)).unwrap();
        let lexed = lex(&text);
        let tests = test_modules(&lexed.code);
        for name in *names {
            assert!(
                lexed
                    .strings
                    .iter()
                    .any(|(_, s, at)| s == name && !tests.iter().any(|r| r.contains(at))),
                "src/{file} no longer names \"{name}\": remove it from MODEL_NAME_ALLOWED"
            );
        }
    }
}

#[test]
fn the_checker_finds_a_cycle_in_an_invented_graph() {
    let edge = |from: &str, to: &str, line| Edge {
        from: from.into(),
        to: to.into(),
        line,
    };
    let invented = vec![
        edge("a/mod.rs", "b/x.rs", 3),
        edge("b/x.rs", "c/y.rs", 5),
        edge("c/y.rs", "a/mod.rs", 7),
        edge("c/y.rs", "d/z.rs", 9),
    ];
    let found = describe_cycles(&invented);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("cycle of 3 files"), "{}", found[0]);
    assert!(
        found[0].contains("src/c/y.rs:7 imports src/a/mod.rs"),
        "{}",
        found[0]
    );
    assert!(!found[0].contains("d/z.rs"), "{}", found[0]);
    assert!(describe_cycles(&invented[..2]).is_empty());
}

#[test]
fn the_checker_reads_grouped_super_and_inline_imports_but_not_comments() {
    let source = r#"
//! See [`crate::lab::sweep`] (a doc link, not an import).
use crate::{record::{result::CellRecord, claims}, os::measure as m};
use super::Sibling;
fn f() { let _ = "crate::report::html"; crate::stats::median(&[]); }
/* crate::cli::args */
mod tests {
    use super::*;
    use super::super::Cousin;
}
"#;
    let lexed = lex(source);
    let module = vec!["server".to_string(), "load".to_string()];
    let paths: Vec<(usize, String)> = imports_in(&lexed.code, &module)
        .into_iter()
        .map(|i| (i.line, i.path.join("::")))
        .collect();
    let expected = [
        (3, "record::result::CellRecord"),
        (3, "record::claims"),
        (3, "os::measure"),
        (4, "server::Sibling"),
        (5, "stats::median"),
        (8, "server::load"),
        (9, "server::Cousin"),
    ];
    let expected: Vec<(usize, String)> =
        expected.iter().map(|(l, p)| (*l, p.to_string())).collect();
    assert_eq!(paths, expected);
    assert!(lexed
        .strings
        .iter()
        .any(|(line, s, _)| *line == 5 && s == "crate::report::html"));
}

#[test]
fn the_layer_rules_refuse_an_upward_import_and_the_report_reading_the_lab() {
    let edge = |from: &str, to: &str| Edge {
        from: from.into(),
        to: to.into(),
        line: 1,
    };
    let found = layer_violations(&[
        edge("record/result.rs", "lab/sweep.rs"),
        edge("report/data.rs", "lab/doctor.rs"),
        edge("report/data.rs", "record/result.rs"),
        edge("lab/sweep.rs", "model/mod.rs"),
        edge("os/measure.rs", "stats/mod.rs"),
    ]);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(found[0].starts_with("src/record/result.rs:1 imports src/lab/sweep.rs"));
    assert!(found[1].contains("report may not import lab"));
    assert!(found[2].contains("os may not import stats"));
}
