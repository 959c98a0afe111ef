use super::*;

#[test]
fn spec_versions_accepted_are_1_0_and_1_0_x() {
    for ok in ["1.0", "1.0.0", "1.0.34", "1.0.31"] {
        assert!(supported_spec_version(ok), "{ok}");
    }
    for bad in [
        "", "1", "2.0.0", "1.1.0", "1.0.x", "1.0.", "1.0.0.0", "v1.0.0",
    ] {
        assert!(!supported_spec_version(bad), "{bad}");
    }
}

/// `text` read both ways targets metadata is read: on its own (a built map) and
/// as a document's `signed` (a map kept as an index into the document).
fn read_both_ways(text: &str) -> [std::result::Result<Targets, String>; 2] {
    let document = Bytes::copy_from_slice(text.as_bytes());
    let within = std::str::from_utf8(&document).unwrap();
    [
        serde_json::from_str::<Targets>(text).map_err(|e| e.to_string()),
        Targets::read_signed(within, &document).map_err(|e| e.to_string()),
    ]
}

#[test]
fn targets_keep_unknown_fields_and_refuse_duplicate_or_missing_ones() {
    let text = r#"{"_type":"targets","spec_version":"1.0.34","version":3,
        "expires":"2030-01-01T00:00:00Z","x-extra":{"a":[1,2]},
        "targets":{"a.txt":{"length":1,"hashes":{"sha256":"00"},"x-t":true}}}"#;
    for t in read_both_ways(text) {
        let t = t.unwrap();
        assert_eq!(t.version, 3);
        assert!(t.delegations.is_none());
        assert_eq!(t.unknown["x-extra"], serde_json::json!({"a": [1, 2]}));
        assert_eq!(
            t.targets.get("a.txt").unwrap().unknown["x-t"],
            serde_json::json!(true)
        );
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["x-extra"], serde_json::json!({"a": [1, 2]}));
        assert_eq!(back["targets"]["a.txt"]["x-t"], serde_json::json!(true));
    }

    let refused = |text: &str, why: &str| {
        for err in read_both_ways(text) {
            let err = err.unwrap_err();
            assert!(err.contains(why), "{why}: {err}");
        }
    };
    let twice = text.replace(r#""version":3,"#, r#""version":3,"version":4,"#);
    refused(&twice, "duplicate field `version`");
    refused(
        &text.replace(r#""version":3,"#, ""),
        "missing field `version`",
    );
    // A target file is checked as strictly by either reader.
    let file = r#"{"length":1,"hashes":{"sha256":"00"},"x-t":true}"#;
    for (bad, why) in [
        (r#"{"hashes":{"sha256":"00"}}"#, "missing field `length`"),
        (r#"{"length":1}"#, "missing field `hashes`"),
        (
            r#"{"length":1,"length":1,"hashes":{"sha256":"00"}}"#,
            "duplicate field `length`",
        ),
        (r#"{"length":-1,"hashes":{"sha256":"00"}}"#, "invalid value"),
        (r#"{"length":1,"hashes":{"sha256":0}}"#, "invalid type"),
        (r#"{"length":1,"hashes":[]}"#, "invalid type"),
        (
            r#"{"length":1,"hashes":{"sha256":"00"},"custom":1e999}"#,
            "out of range",
        ),
        (r#"[]"#, "invalid type"),
    ] {
        refused(&text.replace(file, bad), why);
    }
    // TUF §4.5: at least one hash; refused when read, or by validation once built.
    let no_hashes = text.replace(file, r#"{"length":1,"hashes":{}}"#);
    let [built, read] = read_both_ways(&no_hashes);
    assert!(built.unwrap().validate().is_err());
    assert!(read.unwrap_err().contains("empty hashes"));

    let null_delegations = text.replace(r#""version":3,"#, r#""version":3,"delegations":null,"#);
    for t in read_both_ways(&null_delegations) {
        assert!(t.unwrap().delegations.is_none());
    }
}

#[test]
fn the_envelope_and_its_signatures_keep_unknown_members_and_refuse_repeated_ones() {
    let key = crate::keys::PrivateKey::ed25519_from_seed(&[7; 32]).unwrap();
    let expires = Expires::parse("2040-01-01T00:00:00Z").unwrap();
    let doc = Metadata::sign_new(
        crate::editor::new_targets(expires),
        &[&key],
        &mut rand_core::OsRng,
    )
    .unwrap();
    let mut v: Value = serde_json::from_slice(doc.bytes()).unwrap();
    v["x-envelope"] = serde_json::json!([1]);
    v["signatures"][0]["x-sig"] = serde_json::json!({"a": true});
    let text = serde_json::to_string(&v).unwrap();
    let read = Metadata::<Targets>::from_bytes(text.as_bytes()).unwrap();
    assert_eq!(read.unknown()["x-envelope"], serde_json::json!([1]));
    assert_eq!(
        read.signatures()[0].unknown["x-sig"],
        serde_json::json!({"a": true})
    );
    assert_eq!(read.signatures()[0].sig, doc.signatures()[0].sig);
    assert_eq!(read.canonical_signed(), doc.canonical_signed());

    let refused = |text: &str, why: &str| {
        let err = Metadata::<Targets>::from_bytes(text.as_bytes()).unwrap_err();
        assert!(err.to_string().contains(why), "{why}: {err}");
    };
    let object = |v: &Value| serde_json::to_string(v).unwrap();
    let signatures = object(&v["signatures"]);
    let signed = object(&v["signed"]);
    refused(
        &format!(r#"{{"signatures":{signatures},"signed":{signed},"signatures":[]}}"#),
        "duplicate field `signatures`",
    );
    refused(
        &format!(r#"{{"signed":{signed},"signatures":{signatures},"signed":{signed}}}"#),
        "duplicate field `signed`",
    );
    refused(&format!(r#"{{"signatures":{signatures}}}"#), "no signed");
    refused(&format!(r#"{{"signed":{signed}}}"#), "no signatures");
    let keyid = &doc.signatures()[0].keyid;
    let sig = &doc.signatures()[0].sig;
    for (bad, why) in [
        (
            format!(r#"{{"keyid":"{keyid}","keyid":"{keyid}","sig":"{sig}"}}"#),
            "duplicate field `keyid`",
        ),
        (format!(r#"{{"keyid":"{keyid}"}}"#), "missing field `sig`"),
        (format!(r#"{{"sig":"{sig}"}}"#), "missing field `keyid`"),
        (format!(r#"{{"keyid":1,"sig":"{sig}"}}"#), "invalid type"),
    ] {
        refused(
            &format!(r#"{{"signatures":[{bad}],"signed":{signed}}}"#),
            why,
        );
    }
}

#[test]
fn targets_in_any_order_parse_to_one_map_and_a_path_listed_twice_keeps_the_last() {
    let target = |len: u64| format!(r#"{{"length":{len},"hashes":{{"sha256":"00"}}}}"#);
    let doc = |listing: &[(&str, u64)]| {
        let targets: Vec<String> = listing
            .iter()
            .map(|(path, len)| format!(r#""{path}":{}"#, target(*len)))
            .collect();
        format!(
            r#"{{"_type":"targets","spec_version":"1.0","version":1,"expires":"2030-01-01T00:00:00Z","targets":{{{}}}}}"#,
            targets.join(",")
        )
    };
    let lengths = |t: &Targets| -> Vec<(String, u64)> {
        t.targets
            .iter()
            .map(|(p, f)| (p.to_string(), f.length))
            .collect()
    };
    let abc = [("a".to_string(), 1), ("b".into(), 2), ("c".into(), 3)];
    for listing in [
        &[("a", 1), ("b", 2), ("c", 3)][..],
        &[("c", 3), ("a", 1), ("b", 2)],
        // An escaped path is the same path.
        &[("c", 3), ("\\u0061", 1), ("b", 2)],
    ] {
        for t in read_both_ways(&doc(listing)) {
            let t = t.unwrap();
            assert_eq!(lengths(&t), abc, "{listing:?}");
            assert_eq!(t.targets.len(), 3);
            assert_eq!(t.targets.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
            assert_eq!(t.targets.get("b").map(|f| f.length), Some(2));
            assert!(t.targets.contains_key("a") && !t.targets.contains_key("d"));
        }
    }
    let repeated = doc(&[("b", 2), ("a", 1), ("b", 7), ("c", 3), ("b", 9), ("a", 4)]);
    for t in read_both_ways(&repeated) {
        let t = t.unwrap();
        assert_eq!(
            lengths(&t),
            [("a".into(), 4), ("b".into(), 9), ("c".into(), 3)]
        );
    }
    // The same as a map read one insert at a time, which python-tuf matches.
    let v: serde_json::Value = serde_json::from_str(&repeated).unwrap();
    assert_eq!(v["targets"]["b"]["length"], 9);
}

#[test]
fn a_targets_map_read_from_a_document_edits_and_compares_as_a_built_one() {
    let text = r#"{"_type":"targets","spec_version":"1.0","version":1,"expires":"2030-01-01T00:00:00Z","targets":{"a":{"length":1,"hashes":{"sha256":"00"}},"b":{"length":2,"hashes":{"sha256":"11"},"custom":{"k":[1]}}}}"#;
    let [built, read] = read_both_ways(text).map(Result::unwrap);
    assert_eq!(built, read);
    assert_eq!(
        format!("{:?}", built.targets),
        format!("{:?}", read.targets)
    );
    assert_eq!(
        crate::canonical::to_canonical_json(&built).unwrap(),
        crate::canonical::to_canonical_json(&read).unwrap()
    );
    let mut edited = read.clone();
    let c = edited.targets.get("a").unwrap().into_owned();
    assert_eq!(edited.targets.insert("c".into(), c.clone()), None);
    assert_eq!(edited.targets.remove("a").map(|f| f.length), Some(1));
    assert_eq!(edited.targets.keys().collect::<Vec<_>>(), ["b", "c"]);
    assert_eq!(edited.targets.get("c").as_deref(), Some(&c));
    assert_ne!(edited, read);
    let mut built = built;
    built.targets.remove("a");
    built.targets.insert("c".into(), c);
    assert_eq!(edited, built);
}

#[test]
fn expires_round_trips_and_is_strict() {
    let e = Expires::parse("2030-01-02T03:04:05Z").unwrap();
    assert_eq!(e.to_string(), "2030-01-02T03:04:05Z");
    for bad in [
        "2030-01-02",
        "2030-01-02T03:04:05",
        "2030-01-02T03:04:05+00:00",
        "x",
    ] {
        assert!(Expires::parse(bad).is_err(), "{bad}");
    }
}

#[test]
fn hashes_read_as_an_object_in_any_order_and_write_in_algorithm_order() {
    let read = |text: &str| serde_json::from_str::<Hashes>(text).unwrap();
    let h = read(r#"{"sha512":"bb","sha256":"aa"}"#);
    assert_eq!(h, read(r#"{"sha256":"aa","sha512":"bb"}"#));
    assert_eq!(h.get("sha256").map(String::as_str), Some("aa"));
    assert_eq!(h.get("sha384"), None);
    assert_eq!(h.len(), 2);
    assert_eq!(
        serde_json::to_string(&h).unwrap(),
        r#"{"sha256":"aa","sha512":"bb"}"#
    );
    // Listed twice: the last value, as a map keeps it.
    assert_eq!(
        read(r#"{"sha256":"aa","sha256":"cc"}"#),
        Hashes::from([("sha256".to_string(), "cc".to_string())])
    );
    assert!(read("{}").is_empty());
    assert!(serde_json::from_str::<Hashes>(r#"{"sha256":1}"#).is_err());
    assert!(serde_json::from_str::<Hashes>(r#"["sha256","aa"]"#).is_err());
    let mut h = h;
    assert_eq!(h.insert("sha256".into(), "dd".into()), Some("aa".into()));
    assert_eq!(h.insert("blake2b".into(), "ee".into()), None);
    let order: Vec<&String> = h.iter().map(|(a, _)| a).collect();
    assert_eq!(order, ["blake2b", "sha256", "sha512"]);
}

#[test]
fn length_and_hash_checks() {
    let h: Hashes = [("sha256".to_string(), hex::encode(Sha256::digest(b"abc")))].into();
    check_length_and_hashes("f", b"abc", Some(3), Some(&h)).unwrap();
    assert!(check_length_and_hashes("f", b"abd", Some(3), Some(&h)).is_err());
    assert!(check_length_and_hashes("f", b"abc", Some(4), Some(&h)).is_err());
    let odd: Hashes = [("md5".to_string(), "00".to_string())].into();
    assert!(check_length_and_hashes("f", b"abc", None, Some(&odd)).is_err());
}
