//! The fuzz target bodies, shared by the libFuzzer targets (`fuzz_targets/`) and the stable
//! driver (`tests/fuzz.rs`). Each takes arbitrary bytes and panics only on a bug: a panic
//! inside meshgen, or a broken invariant checked here.

#![allow(dead_code)] // each includer uses some of the bodies

use meshgen::install::postrender::{self, HaChange};
use meshgen::model::load::{self, Source};
use meshgen::model::release_line::ReleaseLine;

/// A platform file: it loads with located errors that name it, or it is valid, and then
/// its values render and parse back.
pub fn platform(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = Source {
        display: "fuzz.yaml".to_string(),
        path: None,
        text: text.to_string(),
        name: None,
    };
    check_load(&source, &[]);
}

fn check_load(source: &Source, overrides: &[meshgen::model::set::Assignment]) {
    let refused = |diagnostics: Vec<meshgen::error::Diagnostic>| {
        assert!(
            diagnostics.iter().any(|d| d.is_error()),
            "refused without an error: {diagnostics:?}"
        );
        // Located in the file, or at the --set argument that wrote the value.
        assert!(diagnostics
            .iter()
            .all(|d| d.file == source.display || d.file.starts_with("--set ")));
    };
    match load::load(source, overrides) {
        Ok(loaded) => {
            let (version, _) = meshgen::render::resolve::version_for(None, loaded.file.spec.istio);
            // spec.values meeting a key meshgen sets is refused here, located.
            let resolved = match meshgen::render::pipeline::resolve_loaded(
                &loaded,
                version,
                meshgen::render::resolve::Origin::Default {
                    why: "fuzz".to_string(),
                },
            ) {
                Ok(resolved) => resolved,
                Err(meshgen::error::Error::Findings(diagnostics)) => return refused(diagnostics),
                Err(e) => panic!("a valid platform resolves: {e}"),
            };
            let rendered =
                meshgen::render::pipeline::render(&resolved).expect("a valid platform renders");
            meshgen::yaml::parse(&rendered).expect("rendered values parse back");
        }
        Err(diagnostics) => refused(diagnostics),
    }
}

const KVM: &str = "apiVersion: meshgen/v1alpha1\nkind: Platform\nmetadata:\n  name: f\nspec:\n  provider: kvm\n  istio: \"1.0\"\n  ingressGateway:\n    serviceType: NodePort\n    nodePorts: {http2: 30080}\n";

/// A `--set` argument: parsed, or refused with a message naming it; when parsed, applied to
/// a valid platform, which then loads or is refused with located errors.
pub fn set(data: &[u8]) {
    let Ok(expr) = std::str::from_utf8(data) else {
        return;
    };
    match meshgen::model::set::parse(expr) {
        Ok(assignments) => {
            let source = Source {
                display: "kvm.yaml".to_string(),
                path: None,
                text: KVM.to_string(),
                name: None,
            };
            check_load(&source, &assignments);
        }
        // The message quotes the part of the argument it is about.
        Err(e) => assert!(expr.contains(e.expr.as_str()), "{e} is not about {expr:?}"),
    }
}

/// A manifest stream: passed through unchanged without HA; with HA, the output is itself
/// valid post-render input; a refusal names `<stdin>`.
pub fn post_render(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    // Both kinds of term, chosen by the input so that each is fuzzed.
    let spreading = if data.len() % 2 == 0 {
        meshgen::model::platform::Spreading::Required
    } else {
        meshgen::model::platform::Spreading::Preferred
    };
    let ha = HaChange {
        replicas: 3,
        topology_key: Some("kubernetes.io/hostname"),
        spreading,
    };
    match postrender::post_render(input, &postrender::targets(ReleaseLine::V1_11), None) {
        Ok(out) => assert_eq!(out, input, "without HA the stream passes unchanged"),
        Err(e) => assert!(e.to_string().contains("<stdin>"), "{e}"),
    }
    for line in [ReleaseLine::V1_0, ReleaseLine::V1_11] {
        let targets = postrender::targets(line);
        match postrender::post_render(input, &targets, Some(ha)) {
            Ok(out) => {
                let again = postrender::post_render(&out, &targets, Some(ha))
                    .unwrap_or_else(|e| panic!("own output refused: {e}\n{out}"));
                assert_eq!(again, out, "post-render twice is once");
                spread_as_asked(&out, &targets, ha);
            }
            Err(e) => assert!(e.to_string().contains("<stdin>"), "{e}"),
        }
    }
}

/// What a post-render that changed nothing would fail: every target Deployment of the output
/// (a `v1` List's items too) has the replicas asked for and a pod anti-affinity term of the
/// kind asked for on the topology asked for.
fn spread_as_asked(out: &str, targets: &[postrender::Target], ha: HaChange) {
    let objects = postrender::parse_objects(out)
        .unwrap_or_else(|e| panic!("own output unreadable: {e}\n{out}"));
    let items = objects.iter().flat_map(|o| {
        if o["kind"] == "List" && o["apiVersion"] == "v1" {
            o["items"].as_array().cloned().unwrap_or_default()
        } else {
            vec![o.clone()]
        }
    });
    for obj in items {
        let name = &obj["metadata"]["name"];
        if obj["kind"] != "Deployment" || !targets.iter().any(|t| name == t.name.as_str()) {
            continue;
        }
        assert_eq!(
            obj["spec"]["replicas"], ha.replicas,
            "Deployment {name}: replicas\n{out}"
        );
        let anti = &obj["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"];
        let terms: Vec<&serde_json::Value> = match ha.spreading {
            meshgen::model::platform::Spreading::Required => anti
                ["requiredDuringSchedulingIgnoredDuringExecution"]
                .as_array()
                .map(|t| t.iter().collect())
                .unwrap_or_default(),
            _ => anti["preferredDuringSchedulingIgnoredDuringExecution"]
                .as_array()
                .map(|t| t.iter().map(|t| &t["podAffinityTerm"]).collect())
                .unwrap_or_default(),
        };
        assert!(
            terms
                .iter()
                .any(|t| t["topologyKey"] == ha.topology_key.unwrap()),
            "Deployment {name}: no {:?} anti-affinity term on {:?}: {anti}\n{out}",
            ha.spreading,
            ha.topology_key
        );
    }
}
