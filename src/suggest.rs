//! "Did you mean" suggestions for misspelled names.

/// The closest candidate to `given`, when it is close enough to be a likely typo.
pub fn did_you_mean<'a>(
    given: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| {
            (
                strsim::jaro_winkler(&given.to_lowercase(), &c.to_lowercase()),
                c,
            )
        })
        .filter(|(score, _)| *score >= 0.85)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::did_you_mean;

    #[test]
    fn suggests_near_misses_only() {
        let known = ["ingressGateway", "egressGateway", "nodePortRange"];
        assert_eq!(did_you_mean("ingresGateway", known), Some("ingressGateway"));
        assert_eq!(did_you_mean("nodeportrange", known), Some("nodePortRange"));
        assert_eq!(did_you_mean("tracing", known), None);
        assert_eq!(
            did_you_mean(
                "istio-ingresgateway",
                ["istio-ingressgateway", "istio-egressgateway"]
            ),
            Some("istio-ingressgateway")
        );
    }
}
