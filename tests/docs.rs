//! The README is a front door and the docs book behind it holds together:
//! README.md stays short, every relative link from README.md and from the
//! book's pages reaches an existing file (and, with `#anchor`, a heading in
//! it, by GitHub's slug rules), and `docs/src/SUMMARY.md` lists exactly the
//! pages in `docs/src/`. The pages are read as plain Markdown, the way
//! GitHub shows them, so they need no mdBook to be navigable.

use regex::Regex;
use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

/// The most lines README.md may have: a few screens, not the whole house.
const README_MAX_LINES: usize = 400;

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn book() -> PathBuf {
    repo().join("docs/src")
}

/// The book's pages, as file names under `docs/src/`.
fn book_pages() -> BTreeSet<String> {
    std::fs::read_dir(book())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.ends_with(".md"))
        .collect()
}

/// The text outside fenced code blocks, with inline code blanked, so that
/// an example in code is never taken for a link or a heading.
fn outside_code(content: &str) -> Vec<String> {
    let inline_code = Regex::new(r"`[^`]*`").unwrap();
    let mut in_fence = false;
    content
        .lines()
        .map(|line| {
            if line.trim_start().starts_with("```") {
                in_fence = !in_fence;
                return String::new();
            }
            if in_fence {
                String::new()
            } else {
                inline_code.replace_all(line, "code").into_owned()
            }
        })
        .collect()
}

/// GitHub's anchor for a heading: lower case, spaces to hyphens, every
/// other character but letters, digits, hyphens and underscores dropped.
fn slug(heading: &str) -> String {
    heading
        .replace('`', "")
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Every anchor a page offers: its headings' slugs, numbered like GitHub's
/// when a heading repeats (`name`, `name-1`, ...).
fn anchors(content: &str) -> BTreeSet<String> {
    let mut in_fence = false;
    let mut found = BTreeSet::new();
    for line in content.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence || !line.starts_with('#') {
            continue;
        }
        let text = line.trim_start_matches('#');
        if !text.starts_with(' ') {
            continue;
        }
        let base = slug(text.trim().trim_end_matches('#').trim());
        let mut anchor = base.clone();
        let mut n = 0;
        while found.contains(&anchor) {
            n += 1;
            anchor = format!("{base}-{n}");
        }
        found.insert(anchor);
    }
    found
}

/// The relative link targets of a page (images included), with their lines.
fn relative_links(content: &str) -> Vec<(usize, String)> {
    let link = Regex::new(r"\]\(([^)\s]+)(?:\s+[^)]*)?\)").unwrap();
    let mut links = Vec::new();
    for (index, line) in outside_code(content).iter().enumerate() {
        for capture in link.captures_iter(line) {
            let target = capture[1].to_string();
            if !target.contains("://") && !target.starts_with("mailto:") {
                links.push((index + 1, target));
            }
        }
    }
    links
}

/// `a/b/../c` as `a/c`, without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// What is wrong with one link from `page`, if anything.
fn broken(page: &Path, target: &str) -> Option<String> {
    let (file, anchor) = match target.split_once('#') {
        Some((file, anchor)) => (file, Some(anchor)),
        None => (target, None),
    };
    let resolved = if file.is_empty() {
        page.to_path_buf()
    } else {
        normalise(&page.parent().unwrap().join(file))
    };
    if !resolved.starts_with(repo()) || !resolved.exists() {
        return Some(format!("{target}: {} does not exist", resolved.display()));
    }
    let anchor = anchor?;
    if resolved.extension() != Some(std::ffi::OsStr::new("md")) {
        return Some(format!(
            "{target}: an anchor into a file that is not Markdown"
        ));
    }
    let offered = anchors(&read(&resolved));
    (!offered.contains(anchor)).then(|| {
        format!(
            "{target}: no heading with the anchor #{anchor} in {} (it has: {})",
            resolved.display(),
            offered.into_iter().collect::<Vec<_>>().join(", ")
        )
    })
}

#[test]
fn the_readme_fits_on_a_few_screens() {
    let lines = read(&repo().join("README.md")).lines().count();
    assert!(
        lines < README_MAX_LINES,
        "README.md has {lines} lines; it should stay under {README_MAX_LINES} — move the long explanation into a page under docs/src/"
    );
}

#[test]
fn every_relative_link_in_the_readme_and_the_book_resolves() {
    let mut pages = vec![repo().join("README.md")];
    pages.extend(book_pages().into_iter().map(|name| book().join(name)));
    let mut problems = Vec::new();
    let mut into_docs = 0;
    for page in &pages {
        for (line, target) in relative_links(&read(page)) {
            if page.ends_with("README.md") && target.starts_with("docs/") {
                into_docs += 1;
            }
            if let Some(problem) = broken(page, &target) {
                problems.push(format!(
                    "{}:{line}: {problem}",
                    page.strip_prefix(repo()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "broken links:\n{}",
        problems.join("\n")
    );
    assert!(into_docs > 0, "README.md links to nothing under docs/");
}

#[test]
fn the_summary_lists_every_page_of_the_book_and_only_pages_that_exist() {
    let summary = read(&book().join("SUMMARY.md"));
    let listed: BTreeSet<String> = relative_links(&summary)
        .into_iter()
        .map(|(_, target)| target)
        .collect();
    let pages: BTreeSet<String> = book_pages()
        .into_iter()
        .filter(|name| name != "SUMMARY.md")
        .collect();
    let missing: Vec<_> = pages.difference(&listed).collect();
    assert!(
        missing.is_empty(),
        "docs/src/SUMMARY.md does not list {missing:?}"
    );
    let absent: Vec<_> = listed.difference(&pages).collect();
    assert!(
        absent.is_empty(),
        "docs/src/SUMMARY.md lists pages that do not exist: {absent:?}"
    );
}

#[test]
fn anchors_follow_githubs_slug_rules() {
    assert_eq!(
        slug("Real I/O: the `socket` workload"),
        "real-io-the-socket-workload"
    );
    assert_eq!(slug("The lab's own overhead"), "the-labs-own-overhead");
    assert_eq!(
        slug("The seeds' own servers (Python)"),
        "the-seeds-own-servers-python"
    );
    assert_eq!(
        slug("Memory per unit: `sweep --profile memory`"),
        "memory-per-unit-sweep---profile-memory"
    );
    let offered = anchors("# A\n## B\n```\n# not a heading\n```\n## B\n");
    assert_eq!(offered.into_iter().collect::<Vec<_>>(), ["a", "b", "b-1"]);
}

/// Paths the prose names in inline code (`src/...`, `tests/...`, ...), with
/// placeholders such as `NAME` left out.
fn named_paths(content: &str) -> Vec<(usize, String)> {
    let path =
        Regex::new(r"`((?:src|tests|scripts|benches|examples|docs)/[A-Za-z0-9_./-]*)`").unwrap();
    let mut in_fence = false;
    let mut found = Vec::new();
    for (index, line) in content.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        for capture in path.captures_iter(line) {
            let named = capture[1].to_string();
            if !named.chars().any(|c| c.is_ascii_uppercase()) {
                found.push((index + 1, named));
            }
        }
    }
    found
}

#[test]
fn every_file_the_readme_and_the_book_name_exists() {
    let mut pages = vec![repo().join("README.md")];
    pages.extend(book_pages().into_iter().map(|name| book().join(name)));
    let mut missing = Vec::new();
    for page in &pages {
        for (line, named) in named_paths(&read(page)) {
            if !repo().join(&named).exists() {
                missing.push(format!(
                    "{}:{line}: {named}",
                    page.strip_prefix(repo()).unwrap().display()
                ));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "the docs name files that do not exist (moved or renamed?):\n{}",
        missing.join("\n")
    );
}
