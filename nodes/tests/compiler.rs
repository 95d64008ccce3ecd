//! The `compiler` kind through the real scheme and the real native library:
//! a good script, a syntax error, and bad payloads answering 400.

use weir_codecs::Value;
use weir_engine::runtime::Limits;
use weir_engine::spec::source::{Format, parse};
use weir_engine::{Bundle, Packet, Process};

async fn call(dir: &std::path::Path, payload: serde_json::Value) -> Packet {
    let yaml = format!(
        "kind: compiler\nname: c\nartifact_dir: {}\nsettings:\n  passes: [tokenize, outline]\n",
        dir.display()
    );
    let specs = parse(&yaml, Format::Yaml, None).expect("parses");
    let bundle = Bundle::compile(&weir_nodes::scheme(), specs, &weir_engine::env::NoValues)
        .unwrap_or_else(|d| panic!("{d}"));
    let tables = bundle.start(Limits::default()).await;
    let table = tables["default"].clone();
    table
        .send(
            "c",
            Process::new(),
            Packet::new(weir_codecs::json::from_json(payload)),
        )
        .await
}

fn tmp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("weir-compiler-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[tokio::test]
async fn a_good_script_gives_a_success_manifest_with_its_artifacts() {
    let dir = tmp("good");
    let answer = call(
        &dir,
        serde_json::json!({"script": {"name": "a.py", "source": "def f():\n    return 1\n"}}),
    )
    .await;
    assert!(answer.as_error().is_none(), "{:?}", answer.as_error());
    let manifest = weir_codecs::json::to_json(answer.payload());
    assert_eq!(manifest["status"], "success", "{manifest}");
    let runs: Vec<_> = std::fs::read_dir(dir.join("artifacts"))
        .expect("runs")
        .collect();
    assert_eq!(runs.len(), 1);
    let run = runs[0].as_ref().expect("entry").path();
    let artifacts = manifest["artifacts"].as_array().expect("artifacts");
    assert_eq!(artifacts.len(), 2, "{manifest}");
    for a in artifacts {
        let size = std::fs::metadata(run.join(a["path"].as_str().expect("path")))
            .expect("exists")
            .len();
        assert_eq!(Some(size), a["size"].as_u64());
    }
}

#[tokio::test]
async fn a_syntax_error_gives_a_failed_manifest_with_the_line() {
    let dir = tmp("syntax");
    let answer = call(
        &dir,
        serde_json::json!({"script": {"name": "b.py", "source": "x = 1\ny = 'oops\n"}}),
    )
    .await;
    let manifest = weir_codecs::json::to_json(answer.payload());
    assert_eq!(manifest["status"], "failed", "{manifest}");
    assert_eq!(manifest["diagnostics"][0]["line"], 2, "{manifest}");
}

#[tokio::test]
async fn a_bad_payload_answers_400_naming_each_field() {
    let dir = tmp("bad");
    let cases = [
        (serde_json::json!({"settings": {}}), vec!["script"]),
        (
            serde_json::json!({"script": {"name": 3, "source": true}, "settings": {"strip_comments": "yes"}}),
            vec!["script.name", "script.source", "settings.strip_comments"],
        ),
        (
            serde_json::json!({"script": {"name": "a.py", "source": ""}, "settings": {"passes": ["lex"], "max_depth": 9999}}),
            vec!["settings.passes"],
        ),
    ];
    for (payload, fields) in cases {
        let answer = call(&dir, payload.clone()).await;
        let error = answer
            .as_error()
            .unwrap_or_else(|| panic!("{payload}: not an error"));
        let json = weir_codecs::json::to_json(&Value::from(error.clone()))["error"].clone();
        assert_eq!(json["status"], 400, "{json}");
        assert_eq!(json["code"], "invalid", "{json}");
        let named: Vec<_> = json["details"]
            .as_array()
            .expect("details")
            .iter()
            .map(|d| d["field"].as_str().unwrap_or_default().to_string())
            .collect();
        for f in fields {
            assert!(
                named.iter().any(|n| n == f),
                "{payload}: {named:?} lacks {f}"
            );
        }
    }
}
