//! Provider defaults, in one place: what each provider implies when a platform file says
//! nothing (node port range, service types, resources) and its internal load balancer
//! annotation. The rules check files against them; `render::resolve` applies them.

use crate::model::platform::{
    EgressGateway, NodePortRange, Provider, ResourceProfile, ServiceType, KUBERNETES_NODE_PORTS,
};
use crate::model::release_line::ReleaseLine;

/// The provider's internal load balancer annotation on a line, if it has one.
pub fn internal_lb_annotation(
    provider: Provider,
    line: ReleaseLine,
) -> Option<(&'static str, &'static str)> {
    if !line.spec().configurable_ingress_service {
        // The line's Service takes no annotations.
        return None;
    }
    match provider {
        Provider::Gke => line.spec().gke_internal_lb_annotation,
        Provider::Aws => Some((
            "service.beta.kubernetes.io/aws-load-balancer-internal",
            "true",
        )),
        Provider::Azure => Some((
            "service.beta.kubernetes.io/azure-load-balancer-internal",
            "true",
        )),
        Provider::Pks | Provider::Kvm | Provider::Minikube => None,
    }
}

/// The defaults, each with the reason shown as the value's origin.
pub mod defaults {
    use super::*;

    pub fn node_port_range(provider: Provider) -> (NodePortRange, &'static str) {
        match provider {
            Provider::Pks => (
                NodePortRange {
                    first: 30400,
                    last: 30449,
                },
                "PKS only accepts NodePorts 30400-30449",
            ),
            _ => (KUBERNETES_NODE_PORTS, "the Kubernetes default range"),
        }
    }

    pub fn ingress_service_type(provider: Provider) -> (ServiceType, &'static str) {
        match provider {
            Provider::Kvm => (
                ServiceType::NodePort,
                "on-prem KVM has no cloud load balancer: the gateway listens on node ports",
            ),
            Provider::Minikube => (ServiceType::NodePort, "minikube has no load balancer"),
            Provider::Pks => (
                ServiceType::LoadBalancer,
                "PKS provisions a load balancer in front of the node ports",
            ),
            Provider::Gke | Provider::Aws | Provider::Azure => (
                ServiceType::LoadBalancer,
                "a cloud load balancer fronts the gateway",
            ),
        }
    }

    pub fn egress_service_type(provider: Provider) -> (ServiceType, &'static str) {
        match provider {
            Provider::Kvm => (
                ServiceType::NodePort,
                "on-prem KVM exposes both gateways on node ports",
            ),
            _ => (
                ServiceType::ClusterIP,
                "egress traffic leaves from inside the cluster",
            ),
        }
    }

    /// Whether the egress gateway is installed: as the file says, else wherever the line has one.
    pub fn egress_enabled(egress: &EgressGateway, line: ReleaseLine) -> bool {
        egress.enabled.unwrap_or(line.spec().has_egress_gateway)
    }

    pub fn resources(provider: Provider) -> (ResourceProfile, &'static str) {
        match provider {
            Provider::Minikube => (
                ResourceProfile::Small,
                "a minikube VM has about 4 GiB for everything",
            ),
            _ => (ResourceProfile::Default, "the charts' own requests"),
        }
    }
}
