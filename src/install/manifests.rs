//! `meshgen manifests`: the Kubernetes objects a platform needs besides the charts — the pod
//! security policy that lets injected pods run Istio's privileged init container (with its
//! ClusterRole and binding, as in the KVM seed), the namespaces labelled for injection, and on
//! 1.11 the mesh-wide PeerAuthentication of `spec.mtls` (the 1.11 charts have no setting for it;
//! its CRD comes with the `base` chart, so these objects are applied after that chart), and on
//! 1.0 what the charts' post-install Jobs applied once (the chart fix `custom-resources-jobs-1.0`
//! removes them): the MeshPolicy and DestinationRules of `global.mtls.enabled`, grafana's Policy.
//! Their CRDs come with the `istio` release's `crds/`, so on 1.0 too they follow the release.
//!
//! The text is written directly rather than through a YAML emitter so that the output is
//! byte-stable and every user-given string is double-quoted (a name like `true` or `1.0`
//! must stay a string). JSON string syntax is valid YAML double-quoted syntax.

use std::fmt::Write as _;

use crate::error::{Diagnostic, Result};
use crate::model::platform::MtlsMode;
use crate::model::release_line::{KubeMinor, MtlsMechanism, ReleaseLine};
use crate::model::rules::PSP_REMOVED_IN;
use crate::render::resolve::ResolvedPlatform;

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
    let labels = "  labels:\n    app: \"istio-security\"\n";
    let namespace = q(&platform.namespace.value);
    if strict {
        let _ = write!(
            out,
            "---\n\
             # Mesh-wide mutual TLS ({origin}), as the security chart's post-install job applied it once.\n\
             apiVersion: authentication.istio.io/v1alpha1\n\
             kind: MeshPolicy\n\
             metadata:\n  name: {name}\n{labels}\
             spec:\n  peers:\n  - mtls: {{}}\n\
             ---\n\
             # Clients ask mutual TLS of every service of the mesh.\n\
             apiVersion: networking.istio.io/v1alpha3\n\
             kind: DestinationRule\n\
             metadata:\n  name: \"default\"\n  namespace: {namespace}\n{labels}\
             spec:\n  host: \"*.local\"\n  trafficPolicy:\n    tls:\n      mode: \"ISTIO_MUTUAL\"\n\
             ---\n\
             # The Kubernetes API server has no sidecar: plain TLS to it.\n\
             apiVersion: networking.istio.io/v1alpha3\n\
             kind: DestinationRule\n\
             metadata:\n  name: \"api-server\"\n  namespace: {namespace}\n{labels}\
             spec:\n  host: \"kubernetes.default.svc.cluster.local\"\n  trafficPolicy:\n    tls:\n      mode: \"DISABLE\"\n",
            name = q(MESH_POLICY_NAME),
        );
    } else if platform.version >= crate::model::rules::MESH_POLICY_ALWAYS_FROM {
        let _ = write!(
            out,
            "---\n\
             # Mesh-wide mutual TLS ({origin}): PERMISSIVE, as the security chart's post-install job applied it once.\n\
             apiVersion: authentication.istio.io/v1alpha1\n\
             kind: MeshPolicy\n\
             metadata:\n  name: {name}\n{labels}\
             spec:\n  peers:\n  - mtls:\n      mode: \"PERMISSIVE\"\n",
            name = q(MESH_POLICY_NAME),
        );
    }
    if platform.addon_enabled(crate::model::platform::AddonKind::Grafana) {
        let port = platform
            .chart_value(&["grafana", "service", "externalPort"])
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(GRAFANA_PORT_1_0);
        let _ = write!(
            out,
            "---\n\
             # Grafana's port without mutual TLS, as the grafana chart's post-install job applied it once.\n\
             apiVersion: authentication.istio.io/v1alpha1\n\
             kind: Policy\n\
             metadata:\n  name: \"grafana-ports-mtls-disabled\"\n  namespace: {namespace}\n\
             spec:\n  targets:\n  - name: \"grafana\"\n    ports:\n    - number: {port}\n"
        );
    }
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

fn q(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
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
    let name = q(PSP_NAME);
    let _ = write!(
        out,
        "---\n\
         # Lets injected pods run Istio's init container (privileged, NET_ADMIN).\n\
         apiVersion: {api}\n\
         kind: PodSecurityPolicy\n\
         metadata:\n  name: {name}\n\
         spec:\n  privileged: true\n  allowedCapabilities:\n  - \"NET_ADMIN\"\n\
         \x20 fsGroup:\n    rule: \"RunAsAny\"\n  runAsUser:\n    rule: \"RunAsAny\"\n\
         \x20 seLinux:\n    rule: \"RunAsAny\"\n  supplementalGroups:\n    rule: \"RunAsAny\"\n\
         \x20 volumes:\n  - \"*\"\n"
    );
    // The admission plugin authorizes `use` in the group the policy is served from;
    // listing both keeps the role valid if the cluster is upgraded across 1.10.
    let _ = write!(
        out,
        "---\n\
         apiVersion: rbac.authorization.k8s.io/v1\n\
         kind: ClusterRole\n\
         metadata:\n  name: {name}\n\
         rules:\n\
         - apiGroups:\n  - \"policy\"\n  - \"extensions\"\n\
         \x20 resources:\n  - \"podsecuritypolicies\"\n\
         \x20 resourceNames:\n  - {name}\n\
         \x20 verbs:\n  - \"use\"\n"
    );
    let _ = write!(
        out,
        "---\n\
         apiVersion: rbac.authorization.k8s.io/v1\n\
         kind: ClusterRoleBinding\n\
         metadata:\n  name: {name}\n\
         roleRef:\n  apiGroup: \"rbac.authorization.k8s.io\"\n  kind: \"ClusterRole\"\n  name: {name}\n\
         subjects:\n"
    );
    for (namespace, account) in &psp.service_accounts {
        let _ = write!(
            out,
            "- kind: \"ServiceAccount\"\n  name: {}\n  namespace: {}\n",
            q(account),
            q(namespace)
        );
    }
    Ok(())
}

/// The objects, as one YAML stream; empty when the platform needs none.
pub fn render(platform: &ResolvedPlatform, source: &str) -> Result<String> {
    let mut out = String::new();
    if let Some(psp) = &platform.pod_security_policy {
        pod_security_policy(platform, psp, source, &mut out)?;
    }
    // Applied by a pruning Flux Kustomization (`kubeConfigSecret`, or custom resources: see
    // `flux::manifests_kustomization`), a namespace dropped from the list would be deleted with
    // every workload in it: Flux must leave it alone.
    let keep = if platform.kube_config_secret.is_some() || platform.has_custom_resources() {
        "  annotations:\n    \"kustomize.toolkit.fluxcd.io/prune\": \"disabled\"\n"
    } else {
        ""
    };
    let mechanism = platform.line.mtls_mechanism();
    if mechanism == MtlsMechanism::MeshPolicy {
        mesh_policy_1_0(platform, &mut out);
    }
    // 0.6 sets the mode through its chart (values); 1.11's charts cannot.
    if let (MtlsMechanism::PeerAuthentication, Some(mtls)) = (mechanism, &platform.mtls) {
        let _ = write!(
            out,
            "---\n\
             # Mesh-wide mutual TLS (spec.mtls: {}): the policy named default in the Istio namespace.\n\
             apiVersion: security.istio.io/v1beta1\n\
             kind: PeerAuthentication\n\
             metadata:\n  name: {}\n  namespace: {}\n\
             spec:\n  mtls:\n    mode: {}\n",
            mtls.value,
            q(MESH_POLICY_NAME),
            q(&platform.namespace.value),
            q(peer_authentication_mode(mtls.value)),
        );
    }
    for namespace in &platform.injection_namespaces {
        let (key, value) = platform.injection_label(namespace);
        let _ = write!(
            out,
            "---\n\
             apiVersion: v1\n\
             kind: Namespace\n\
             metadata:\n  name: {}\n  labels:\n    {}: {}\n{keep}",
            q(namespace),
            q(key),
            q(&value)
        );
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
