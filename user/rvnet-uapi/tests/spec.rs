//! One description: `Documentation/netlink/specs/rvnet.yaml` is the source of truth, and
//! these tests fail when it, the C header generated from it (`include/uapi/linux/rvnet.h`)
//! and the numbers the module and this crate use (`rust/netcore/src/uapi.rs`, mounted here as
//! `rvnet_uapi::genl`) disagree.
//!
//! Numbering follows the genetlink spec rules YNL applies: attributes of a set from 1 (or the
//! `value` given), operations from 1 in list order (notifications included), enum entries
//! from 0 (or `value-start`). After a change to the spec, regenerate the header with
//! `user/rvnet-uapi/gen-header` and update `uapi.rs`.

use rvnet_uapi::genl as g;
use std::collections::BTreeMap;
use std::path::PathBuf;
use yaml_rust2::{Yaml, YamlLoader};

fn top() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn spec() -> Yaml {
    let p = top().join("Documentation/netlink/specs/rvnet.yaml");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut docs = YamlLoader::load_from_str(&text).expect("the spec is YAML");
    docs.remove(0)
}

fn name(y: &Yaml) -> String {
    y["name"].as_str().expect("a name").to_string()
}

fn list(y: &Yaml) -> Vec<Yaml> {
    y.as_vec().cloned().unwrap_or_default()
}

/// The C name YNL gives `s` (upper case, `-` as `_`).
fn c(s: &str) -> String {
    s.to_uppercase().replace('-', "_")
}

/// What the spec numbers: every C name the header must define, with its value.
fn spec_numbers() -> BTreeMap<String, i64> {
    let y = spec();
    let mut m = BTreeMap::new();
    let fam = c(&name(&y));
    for d in list(&y["definitions"]) {
        match d["type"].as_str() {
            Some("const") => {
                m.insert(
                    format!("{fam}_{}", c(&name(&d))),
                    d["value"].as_i64().unwrap(),
                );
            }
            Some("enum") => {
                let start = d["value-start"].as_i64().unwrap_or(0);
                for (v, e) in (start..).zip(list(&d["entries"])) {
                    let n = e.as_str().map(String::from).unwrap_or_else(|| name(&e));
                    m.insert(format!("{fam}_{}_{}", c(&name(&d)), c(&n)), v);
                }
            }
            t => panic!("definition type {t:?}"),
        }
    }
    for set in list(&y["attribute-sets"]) {
        if set["subset-of"].as_str().is_some() {
            // A subset names attributes of its parent set, numbered there.
            continue;
        }
        let mut v = 1;
        for a in list(&set["attributes"]) {
            if let Some(x) = a["value"].as_i64() {
                v = x;
            }
            m.insert(format!("{fam}_A_{}_{}", c(&name(&set)), c(&name(&a))), v);
            v += 1;
        }
        m.insert(format!("{fam}_A_{}_MAX", c(&name(&set))), v - 1);
    }
    let mut v = 1;
    for op in list(&y["operations"]["list"]) {
        m.insert(format!("{fam}_CMD_{}", c(&name(&op))), v);
        v += 1;
    }
    m.insert(format!("{fam}_CMD_MAX"), v - 1);
    m
}

/// The numbers of `uapi.rs`, under the C names.
fn crate_numbers() -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    m.insert("RVNET_AF_DEFAULT".to_string(), i64::from(g::AF_DEFAULT));
    for &(e, n, v) in g::ENUM_ENTRIES {
        m.insert(format!("RVNET_{}_{}", c(e), c(n)), i64::from(v));
    }
    for &(set, n, v) in g::ATTR_NAMES {
        m.insert(format!("RVNET_A_{}_{}", c(set), c(n)), i64::from(v));
    }
    for &(set, v) in g::SET_MAX {
        m.insert(format!("RVNET_A_{}_MAX", c(set)), i64::from(v));
    }
    for &(n, v) in g::CMD_NAMES {
        m.insert(format!("RVNET_CMD_{}", c(n)), i64::from(v));
    }
    m.insert("RVNET_CMD_MAX".to_string(), i64::from(g::cmd::MAX));
    m
}

/// The numbers the C header defines: `#define NAME number` and enum members, counted as C
/// counts them.
fn header_numbers() -> (BTreeMap<String, i64>, BTreeMap<String, String>) {
    let p = top().join("include/uapi/linux/rvnet.h");
    let text = std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
    let mut nums = BTreeMap::new();
    let mut strings = BTreeMap::new();
    let mut in_enum = false;
    let mut next = 0i64;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("#define ") {
            let mut it = rest.split_whitespace();
            let (Some(n), Some(v)) = (it.next(), it.next()) else {
                continue;
            };
            if let Ok(v) = v.parse::<i64>() {
                nums.insert(n.to_string(), v);
            } else if v.starts_with('"') {
                strings.insert(n.to_string(), v.trim_matches('"').to_string());
            }
        } else if line.starts_with("enum ") && line.ends_with('{') {
            in_enum = true;
            next = 0;
        } else if line.starts_with('}') {
            in_enum = false;
        } else if in_enum && !line.is_empty() && !line.starts_with("__") {
            let entry = line.trim_end_matches(',');
            let (n, v) = match entry.split_once('=') {
                Some((n, v)) => {
                    let v = v.trim();
                    // `NAME_MAX = (__NAME_MAX - 1)`: the last member's value.
                    let v = if v.starts_with('(') {
                        next - 1
                    } else {
                        v.parse().unwrap()
                    };
                    (n.trim(), v)
                }
                None => (entry, next),
            };
            nums.insert(n.to_string(), v);
            next = v + 1;
        }
    }
    (nums, strings)
}

#[test]
fn header_agrees_with_the_spec() {
    let want = spec_numbers();
    let (got, strings) = header_numbers();
    // The version and the family name come from the spec's top.
    let mut got = got;
    assert_eq!(got.remove("RVNET_FAMILY_VERSION"), Some(1));
    assert_eq!(got, want, "include/uapi/linux/rvnet.h vs the spec");
    assert_eq!(
        strings.get("RVNET_FAMILY_NAME").map(String::as_str),
        Some("rvnet")
    );
    let y = spec();
    let groups: Vec<String> = list(&y["mcast-groups"]["list"]).iter().map(name).collect();
    for gname in &groups {
        assert_eq!(
            strings.get(&format!("RVNET_MCGRP_{}", c(gname))),
            Some(gname),
            "multicast group {gname}"
        );
    }
}

#[test]
fn crate_agrees_with_the_spec() {
    assert_eq!(
        crate_numbers(),
        spec_numbers(),
        "rust/netcore/src/uapi.rs vs the spec"
    );
    let y = spec();
    assert_eq!(name(&y), g::FAMILY_NAME);
    let groups: Vec<String> = list(&y["mcast-groups"]["list"]).iter().map(name).collect();
    assert_eq!(groups, [g::MCGRP_MONITOR]);
    // The parameters' names are the attributes', with `_`.
    let params: Vec<(String, u16)> = g::PARAMS
        .iter()
        .map(|&(n, id)| (n.replace('_', "-"), id))
        .collect();
    let set: Vec<(String, u16)> = g::ATTR_NAMES
        .iter()
        .filter(|(s, _, _)| *s == "param")
        .map(|&(_, n, id)| (n.to_string(), id))
        .collect();
    assert_eq!(params, set);
}

/// The header is exactly what the kernel's generator makes of the spec, when the generator
/// can run here (a kernel tree and python3 with PyYAML and jsonschema); skipped otherwise.
#[test]
fn header_is_generated_from_the_spec() {
    let out = std::env::temp_dir().join(format!("rvnet-gen-{}.h", std::process::id()));
    let st = std::process::Command::new(top().join("user/rvnet-uapi/gen-header"))
        .arg(&out)
        .stderr(std::process::Stdio::null())
        .status();
    if !st.is_ok_and(|s| s.success()) {
        eprintln!("skipped: gen-header could not run (no kernel tree or python modules)");
        return;
    }
    let fresh = std::fs::read_to_string(&out).unwrap();
    let _ = std::fs::remove_file(&out);
    let kept = std::fs::read_to_string(top().join("include/uapi/linux/rvnet.h")).unwrap();
    assert!(
        fresh == kept,
        "include/uapi/linux/rvnet.h is stale: run user/rvnet-uapi/gen-header"
    );
}
