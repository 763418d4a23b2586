//! `meshgen manifests`: the Kubernetes objects a platform needs besides the charts — the pod
//! security policy that lets injected pods run Istio's privileged init container (with its
//! ClusterRole and binding, as in the KVM seed), the namespaces labelled for injection, and on
//! 1.11 the mesh-wide PeerAuthentication of `spec.mtls` (the 1.11 charts have no setting for it;
//! its CRD comes with the `base` chart, so these objects are applied after that chart), and on
//! 1.0 what the charts' post-install Jobs applied once (the chart fix `custom-resources-jobs-1.0`
//! removes them): the MeshPolicy and DestinationRules of `global.mtls.enabled`, grafana's Policy.
//! Their CRDs come with the `istio` release's `crds/`, so on 1.0 too they follow the release.
//!
//! Written by meshgen's one YAML writer (`yaml::emit`): every user-given string double-quoted
//! (a name like `true` or `1.0` must stay a string), output byte-stable.

use serde_json::{json, Value};

use crate::error::{Diagnostic, Result};
use crate::model::platform::MtlsMode;
use crate::model::release_line::{KubeMinor, MtlsMechanism, ReleaseLine};
use crate::model::rules::PSP_REMOVED_IN;
use crate::render::resolve::ResolvedPlatform;
use crate::yaml::emit::{self, Key, Lists, Node};

/// The name Istio gives the mesh-wide policy: a PeerAuthentication named `default` in the
/// root namespace (the Istio namespace) applies to every workload of the mesh.
pub const MESH_POLICY_NAME: &str = "default";

/// The `spec.mtls.mode` of a PeerAuthentication (security.istio.io/v1beta1).
pub fn peer_authentication_mode(mode: MtlsMode) -> &'static str {
    match mode {
        MtlsMode::Disabled => "DISABLE",
        MtlsMode::Permissive => "PERMISSIVE",
        MtlsMode::Strict => "STRICT",
    }
}

/// The port of grafana's Service in every 1.0 chart (`grafana.service.externalPort`).
pub const GRAFANA_PORT_1_0: u64 = 3000;

/// What 1.0's security chart applied at install for `global.mtls.enabled`: strict, a MeshPolicy
/// without mode and DestinationRules asking ISTIO_MUTUAL (the API server excluded); else from
/// 1.0.3 a PERMISSIVE MeshPolicy, before it nothing. The switch is `spec.mtls`, else a
/// `spec.values` `global.mtls.enabled`, else the chart's default (false).
fn mesh_policy_1_0(platform: &ResolvedPlatform, out: &mut String) {
    let strict = platform.chart_mtls_enabled();
    let origin = match &platform.mtls {
        Some(mode) => format!("spec.mtls: {}", mode.value),
        None if strict => "spec.values global.mtls.enabled".to_string(),
        None => "the chart's default".to_string(),
    };
    let namespace = platform.namespace.value.as_str();
    let labels = || ("labels", Node::Data(json!({ "app": "istio-security" })));
    let destination_rule = |comment: &str, name: &str, host: &str, mode: &str, out: &mut String| {
        let metadata = Node::map([
            ("name", Node::str(name)),
            ("namespace", Node::str(namespace)),
            labels(),
        ]);
        let spec = json!({ "host": host, "trafficPolicy": { "tls": { "mode": mode } } });
        let rest = vec![("metadata", metadata), ("spec", Node::Data(spec))];
        object(
            out,
            Some(comment),
            "networking.istio.io/v1alpha3",
            "DestinationRule",
            rest,
        );
    };
    let mesh_policy = |comment: &str, peers: Value, out: &mut String| {
        let metadata = Node::map([("name", Node::str(MESH_POLICY_NAME)), labels()]);
        let rest = vec![
            ("metadata", metadata),
            ("spec", Node::Data(json!({ "peers": peers }))),
        ];
        object(
            out,
            Some(comment),
            "authentication.istio.io/v1alpha1",
            "MeshPolicy",
            rest,
        );
    };
    if strict {
        let comment = format!(
            "Mesh-wide mutual TLS ({origin}), as the security chart's post-install job applied it once."
        );
        mesh_policy(&comment, json!([{ "mtls": {} }]), out);
        let comment = "Clients ask mutual TLS of every service of the mesh.";
        destination_rule(comment, "default", "*.local", "ISTIO_MUTUAL", out);
        let comment = "The Kubernetes API server has no sidecar: plain TLS to it.";
        let host = "kubernetes.default.svc.cluster.local";
        destination_rule(comment, "api-server", host, "DISABLE", out);
    } else if platform.version >= crate::model::rules::MESH_POLICY_ALWAYS_FROM {
        let comment = format!(
            "Mesh-wide mutual TLS ({origin}): PERMISSIVE, as the security chart's post-install job applied it once."
        );
        mesh_policy(&comment, json!([{ "mtls": { "mode": "PERMISSIVE" } }]), out);
    }
    if platform.addon_enabled(crate::model::platform::AddonKind::Grafana) {
        let port = platform
            .chart_value(&["grafana", "service", "externalPort"])
            .and_then(Value::as_u64)
            .unwrap_or(GRAFANA_PORT_1_0);
        let metadata = json!({ "name": "grafana-ports-mtls-disabled", "namespace": namespace });
        let spec = json!({ "targets": [{ "name": "grafana", "ports": [{ "number": port }] }] });
        let comment = "Grafana's port without mutual TLS, as the grafana chart's post-install job applied it once.";
        let rest = vec![
            ("metadata", Node::Data(metadata)),
            ("spec", Node::Data(spec)),
        ];
        object(
            out,
            Some(comment),
            "authentication.istio.io/v1alpha1",
            "Policy",
            rest,
        );
    }
}

/// One object of the stream: `---`, its comment, `apiVersion` and `kind` (words meshgen
/// chose, plain), then the rest, lists at their key's column as kubectl writes them.
fn object(
    out: &mut String,
    comment: Option<&str>,
    api_version: &str,
    kind: &str,
    rest: Vec<(&str, Node)>,
) {
    out.push_str("---\n");
    if let Some(comment) = comment {
        out.push_str(&emit::comment(comment));
    }
    let mut entries = vec![
        (Key::plain("apiVersion"), Node::word(api_version)),
        (Key::plain("kind"), Node::word(kind)),
    ];
    entries.extend(rest.into_iter().map(|(k, v)| (Key::plain(k), v)));
    out.push_str(&emit::node_to_yaml(&Node::Map(entries), Lists::AtKey));
}

/// Name of the PodSecurityPolicy, its ClusterRole and ClusterRoleBinding.
pub const PSP_NAME: &str = crate::model::platform::PodSecurityPolicy::OBJECT_NAME;

/// `policy/v1beta1` PodSecurityPolicy is served from this Kubernetes version on.
pub const PSP_POLICY_API_FROM: KubeMinor = KubeMinor::new(1, 10);

/// The PodSecurityPolicy `apiVersion` the target cluster serves.
///
/// `extensions/v1beta1` is served up to 1.15 and `policy/v1beta1` from 1.10 to 1.24. With a
/// known version pick the one it serves (`policy` where both are). Without one, the line
/// bounds the cluster: 0.6 and 1.0 run on 1.9–1.15, where only `extensions` is served
/// throughout; 1.11 runs on 1.16–1.24, where only `policy` is.
pub fn psp_api_version(kubernetes: Option<KubeMinor>, line: ReleaseLine) -> &'static str {
    let policy = match kubernetes {
        Some(v) => v >= PSP_POLICY_API_FROM,
        // The line bounds the cluster: policy where every Kubernetes it runs on serves it.
        None => line.kubernetes_support().works_from >= PSP_POLICY_API_FROM,
    };
    if policy {
        "policy/v1beta1"
    } else {
        "extensions/v1beta1"
    }
}

/// The pod security policy, its ClusterRole and the binding of the platform's accounts.
fn pod_security_policy(
    platform: &ResolvedPlatform,
    psp: &crate::render::resolve::ResolvedPsp,
    source: &str,
    out: &mut String,
) -> Result<()> {
    // Validation refuses this already; kept so a library caller cannot emit dead objects.
    if let Some(v) = platform.kubernetes.filter(|v| *v >= PSP_REMOVED_IN) {
        return Err(Diagnostic::error(
            source,
            0,
            0,
            "spec.podSecurityPolicy.enabled",
            format!(
                "Kubernetes {v} has no PodSecurityPolicy API (removed in {PSP_REMOVED_IN}): no manifests to write"
            ),
        )
        .with_hint(
            "use Pod Security Admission labels on the namespace, or the Istio CNI plugin, instead",
        )
        .into());
    }
    let api = psp_api_version(platform.kubernetes, platform.line);
    let metadata = || Node::Data(json!({ "name": PSP_NAME }));
    let spec = json!({
        "privileged": true,
        "allowedCapabilities": ["NET_ADMIN"],
        "fsGroup": { "rule": "RunAsAny" },
        "runAsUser": { "rule": "RunAsAny" },
        "seLinux": { "rule": "RunAsAny" },
        "supplementalGroups": { "rule": "RunAsAny" },
        "volumes": ["*"],
    });
    let comment = "Lets injected pods run Istio's init container (privileged, NET_ADMIN).";
    let rest = vec![("metadata", metadata()), ("spec", Node::Data(spec))];
    object(out, Some(comment), api, "PodSecurityPolicy", rest);
    // The admission plugin authorizes `use` in the group the policy is served from;
    // listing both keeps the role valid if the cluster is upgraded across 1.10.
    let rules = json!([{
        "apiGroups": ["policy", "extensions"],
        "resources": ["podsecuritypolicies"],
        "resourceNames": [PSP_NAME],
        "verbs": ["use"],
    }]);
    let rest = vec![("metadata", metadata()), ("rules", Node::Data(rules))];
    object(out, None, RBAC_API, "ClusterRole", rest);
    let role_ref =
        json!({ "apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": PSP_NAME });
    let subjects: Vec<Value> = psp
        .service_accounts
        .iter()
        .map(|(namespace, account)| {
            json!({ "kind": "ServiceAccount", "name": account, "namespace": namespace })
        })
        .collect();
    let rest = vec![
        ("metadata", metadata()),
        ("roleRef", Node::Data(role_ref)),
        ("subjects", Node::Data(Value::Array(subjects))),
    ];
    object(out, None, RBAC_API, "ClusterRoleBinding", rest);
    Ok(())
}

/// `apiVersion` of the ClusterRole and its binding.
const RBAC_API: &str = "rbac.authorization.k8s.io/v1";

/// The objects, as one YAML stream; empty when the platform needs none.
pub fn render(platform: &ResolvedPlatform, source: &str) -> Result<String> {
    let mut out = String::new();
    if let Some(psp) = &platform.pod_security_policy {
        pod_security_policy(platform, psp, source, &mut out)?;
    }
    // Applied by a pruning Flux Kustomization (`kubeConfigSecret`, or custom resources: see
    // `flux::manifests_kustomization`), a namespace dropped from the list would be deleted with
    // every workload in it: Flux must leave it alone.
    let keep = platform.kube_config_secret.is_some() || platform.has_custom_resources();
    let mechanism = platform.line.mtls_mechanism();
    if mechanism == MtlsMechanism::MeshPolicy {
        mesh_policy_1_0(platform, &mut out);
    }
    // 0.6 sets the mode through its chart (values); 1.11's charts cannot.
    if let (MtlsMechanism::PeerAuthentication, Some(mtls)) = (mechanism, &platform.mtls) {
        let comment = format!(
            "Mesh-wide mutual TLS (spec.mtls: {}): the policy named default in the Istio namespace.",
            mtls.value
        );
        let metadata = json!({ "name": MESH_POLICY_NAME, "namespace": platform.namespace.value });
        let spec = json!({ "mtls": { "mode": peer_authentication_mode(mtls.value) } });
        let rest = vec![
            ("metadata", Node::Data(metadata)),
            ("spec", Node::Data(spec)),
        ];
        let api = "security.istio.io/v1beta1";
        object(&mut out, Some(&comment), api, "PeerAuthentication", rest);
    }
    for namespace in &platform.injection_namespaces {
        // Label and annotation keys are data: quoted.
        let (key, value) = platform.injection_label(namespace);
        let mut metadata = vec![
            (Key::plain("name"), Node::str(namespace)),
            (
                Key::plain("labels"),
                Node::Map(vec![(Key::quoted(key), Node::str(&value))]),
            ),
        ];
        if keep {
            let prune = (
                Key::quoted("kustomize.toolkit.fluxcd.io/prune"),
                Node::str("disabled"),
            );
            metadata.push((Key::plain("annotations"), Node::Map(vec![prune])));
        }
        let rest = vec![("metadata", Node::Map(metadata))];
        object(&mut out, None, "v1", "Namespace", rest);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn psp_api_follows_the_cluster() {
        let v = |minor| Some(KubeMinor::new(1, minor));
        assert_eq!(
            psp_api_version(v(9), ReleaseLine::V1_0),
            "extensions/v1beta1"
        );
        assert_eq!(psp_api_version(v(10), ReleaseLine::V1_0), "policy/v1beta1");
        assert_eq!(
            psp_api_version(None, ReleaseLine::V1_0),
            "extensions/v1beta1"
        );
        assert_eq!(psp_api_version(None, ReleaseLine::V1_11), "policy/v1beta1");
    }
}
