//! `highAvailability`: which components it scales (`components`), and autoscalers that never
//! run more replicas than required anti-affinity can place.

use meshgen::install::postrender;
use meshgen::model::load::{load, Source};
use meshgen::model::release_line::ReleaseLine;
use meshgen::model::set;
use meshgen::render::{pipeline, resolve};
use serde_json::Value;

/// The values file (as JSON) and the post-renderer's Deployments of a built-in on a line with
/// `--set` overrides; `Err` holds the findings' messages when the platform is refused.
fn render(name: &str, line: ReleaseLine, overrides: &str) -> Result<(Value, Vec<String>), String> {
    let mut o = set::parse_string(&format!("spec.istio={line}")).unwrap();
    if line == ReleaseLine::V1_11 {
        o.extend(set::parse_string("spec.kubernetes=1.22").unwrap());
    }
    o.extend(set::parse(overrides).unwrap());
    let loaded = load(&Source::builtin(name).unwrap(), &o).map_err(|e| format!("{e:?}"))?;
    let (version, origin) = resolve::version_for(None, line.into());
    let resolved = resolve::resolve(&loaded.file, &loaded.doc, version, origin);
    let text = pipeline::render(&resolved).unwrap();
    let doc = meshgen::yaml::parse(&text).unwrap().to_json();
    let targets = postrender::platform_targets(&resolved)
        .into_iter()
        .map(|t| t.name)
        .collect();
    Ok((doc, targets))
}

/// Every `autoscaleMax` of a values document, by path.
fn autoscale_maxima(v: &Value, path: &str, out: &mut Vec<(String, i64)>) {
    if let Value::Object(map) = v {
        for (k, child) in map {
            let p = format!("{path}.{k}");
            if k == "autoscaleMax" {
                out.push((p, child.as_i64().unwrap()));
            } else {
                autoscale_maxima(child, &p, out);
            }
        }
    }
}

#[test]
fn required_spreading_caps_every_autoscaler_at_the_replicas() {
    for line in [ReleaseLine::V1_0, ReleaseLine::V1_11] {
        let (doc, _) = render(
            "aws",
            line,
            "spec.highAvailability.replicas=3,spec.gateways[0].name=ilb,spec.gateways[0].namespace=default",
        )
        .or_else(|_| render("aws", line, "spec.highAvailability.replicas=3"))
        .unwrap();
        let mut maxima = Vec::new();
        autoscale_maxima(&doc, "", &mut maxima);
        assert!(!maxima.is_empty(), "{line}: no autoscaler in {doc}");
        for (path, max) in &maxima {
            assert_eq!(
                *max, 3,
                "{line}: {path} may scale past 3 required-spread replicas"
            );
        }
        // Preferred spreading leaves the chart's room to scale.
        let (doc, _) = render(
            "aws",
            line,
            "spec.highAvailability.replicas=3,spec.highAvailability.spreading=preferred",
        )
        .unwrap();
        let mut maxima = Vec::new();
        autoscale_maxima(&doc, "", &mut maxima);
        assert!(maxima.iter().all(|(_, m)| *m == 5), "{line}: {maxima:?}");
    }
}

#[test]
fn components_names_what_is_scaled_and_spread() {
    // Seed 000: pilot, citadel and galley only.
    let (doc, targets) = render(
        "pks",
        ReleaseLine::V1_0,
        "spec.highAvailability.replicas=3,spec.highAvailability.components={pilot,citadel,galley}",
    )
    .unwrap();
    assert_eq!(targets, ["istio-pilot", "istio-citadel", "istio-galley"]);
    assert_eq!(doc["pilot"]["replicaCount"], 3);
    assert_eq!(doc["security"]["replicaCount"], 3);
    assert_eq!(doc["galley"]["replicaCount"], 3);
    for absent in ["mixer", "sidecarInjectorWebhook"] {
        assert!(
            doc.get(absent).is_none(),
            "{absent} scaled: {}",
            doc[absent]
        );
    }
    let ingress = &doc["gateways"]["istio-ingressgateway"];
    assert!(ingress.get("replicaCount").is_none(), "{ingress}");
    // Without `components`, every Deployment of the line.
    let (_, all) = render("aws", ReleaseLine::V1_0, "spec.highAvailability.replicas=3").unwrap();
    assert_eq!(all.len(), 8, "{all:?}");
    // 1.11: istiod is pilot; the gateways alone.
    let (doc, targets) = render(
        "aws",
        ReleaseLine::V1_11,
        "spec.highAvailability.replicas=3,spec.highAvailability.components={ingressGateway}",
    )
    .unwrap();
    assert!(targets.is_empty(), "{targets:?}");
    assert!(
        doc["pilot"].get("replicaCount").is_none(),
        "{}",
        doc["pilot"]
    );
    assert_eq!(doc["gateways"]["istio-ingressgateway"]["replicaCount"], 3);
    assert!(doc["gateways"]["istio-egressgateway"]
        .get("replicaCount")
        .is_none());
    // Seed 000's set on 1.11: citadel and galley are istiod.
    let (doc, targets) = render(
        "aws",
        ReleaseLine::V1_11,
        "spec.highAvailability.replicas=3,spec.highAvailability.components={pilot,citadel,galley}",
    )
    .unwrap();
    assert_eq!(targets, ["istiod"]);
    assert_eq!(doc["pilot"]["replicaCount"], 3);
    assert!(doc["gateways"]["istio-ingressgateway"]
        .get("replicaCount")
        .is_none());
}

#[test]
fn a_component_the_line_lacks_is_refused_at_its_entry() {
    let err = render(
        "aws",
        ReleaseLine::V1_11,
        "spec.highAvailability.replicas=3,spec.highAvailability.components={pilot,mixer}",
    )
    .unwrap_err();
    assert!(
        err.contains("components[1]") || err.contains("Index(1)"),
        "{err}"
    );
    assert!(err.contains("no component `mixer`"), "{err}");
    assert!(
        err.contains(
            "pilot, citadel, galley, sidecarInjector, ingressGateway, egressGateway, gateways"
        ),
        "{err}"
    );
}
