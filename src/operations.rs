//! The platform's operations by id and path: the one list that everything below the wire
//! layer names operations by. Metrics label requests with these ids, request fault rules and
//! latency profiles accept them, the contract check finds a path's operation here.
//!
//! `api::all_operations()` describes each operation fully (methods, input, answer) beside its
//! handlers; a unit test there proves its ids and paths are these. The list lives down here so
//! that the metrics, the latency profiles and the fault rules can name operations without
//! depending on the handlers (which depend on them).

use rustc_hash::FxHashMap;
use std::sync::OnceLock;

/// The platform's path prefix.
pub const PREFIX: &str = "/cdb-open-api/v1";

/// Operation ids of docs/api-reference.md and their path templates, relative to [`PREFIX`],
/// in the order of `api::all_operations()`. An operation served on two paths (S5 takes its
/// shop id in the path or in the query) is listed once per path.
pub const OPERATIONS: &[(&str, &str)] = &[
    ("A1", "/oauth2/login"),
    ("O1", "/rent/cabinet/query"),
    ("O7", "/cdb-open-api/v1/rent/cabinet/query"),
    ("O2", "/rent/order/create"),
    ("O3", "/rent/order/query"),
    ("O4", "/rent/order/close"),
    ("O5", "/rent/order/detail"),
    ("O6", "/rent/cabinet/list"),
    ("C1", "/cabinet/operation"),
    ("C2", "/cabinet/ejectByRepair"),
    ("C3", "/cabinet/ejectByRent"),
    ("C4", "/cabinet/getAllDevice"),
    ("C5", "/cabinet/detail/{cabinetId}"),
    ("C6", "/cabinet/getDeviceByShopId"),
    ("C7", "/cabinet/getAllDevicePage"),
    ("C8", "/cabinet/batteryListByCabinetId/{cabinetId}"),
    ("C9", "/cabinet/slotByCabinetId/{cabinetId}"),
    ("C10", "/cabinet/bind2shop/{qrcode}/{newshopid}"),
    ("C11", "/cabinet/bindAd"),
    ("C12", "/cabinet/unbindShop"),
    ("C13", "/cabinet/publishAd"),
    ("S1", "/shop/getShopList"),
    ("S2", "/shop/detail/{shopid}"),
    ("S3", "/shop/create"),
    ("S4", "/shop/update"),
    ("S5", "/shop/delete/{shopid}"),
    ("S5", "/shop/delete"),
    ("P1", "/shop/priceStrategy/page"),
    ("P2", "/shop/priceStrategy/detail/{priceId}"),
    ("P3", "/shop/priceStrategy/saveOrUpdate"),
    ("P4", "/shop/priceStrategy/delete"),
    ("P5", "/shop/priceStrategy/bindShop"),
    ("P6", "/shop/priceStrategy/unbindShop"),
    ("R1", "/order/list"),
    ("E1", "/cabinet/eventPush/config"),
    ("E2", "/cabinet/eventPush/config/get"),
];

/// The label of `/_sim` requests.
pub const CONTROL: &str = "control";
/// The label of requests no route serves.
pub const UNKNOWN: &str = "unknown";

/// The path templates of operation `id` (case-insensitive, spaces around ignored); none when
/// it is not an operation id.
pub fn paths_of(id: &str) -> impl Iterator<Item = &'static str> + '_ {
    OPERATIONS.iter().filter(move |(i, _)| i.eq_ignore_ascii_case(id.trim())).map(|(_, p)| *p)
}

/// Whether `id` is an operation id, exactly as written (`O1`, not `o1`).
pub fn is_operation(id: &str) -> bool {
    OPERATIONS.iter().any(|(i, _)| *i == id)
}

/// Whether `path` fits `template` segment by segment: a `{...}` or `*` segment takes any one
/// non-empty segment, the others must be equal.
pub fn template_matches(template: &str, path: &str) -> bool {
    let (mut t, mut p) = (template.split('/'), path.split('/'));
    loop {
        match (t.next(), p.next()) {
            (None, None) => return true,
            (Some(a), Some(b)) if a == b || ((a.starts_with('{') || a == "*") && !b.is_empty()) => {}
            _ => return false,
        }
    }
}

/// The index of a request path's operation: its place in [`OPERATIONS`] under the platform
/// prefix, `OPERATIONS.len()` under `/_sim` (control), one more otherwise (unknown; see
/// [`name`]). See [`position`]; it runs for every request.
pub fn index(path: &str) -> usize {
    let unknown = OPERATIONS.len() + 1;
    if let Some(rest) = path.strip_prefix(PREFIX) {
        return position(rest).unwrap_or(unknown);
    }
    if path == "/_sim" || path.starts_with("/_sim/") {
        return OPERATIONS.len();
    }
    unknown
}

/// The place in [`OPERATIONS`] of the operation a path relative to [`PREFIX`] belongs to,
/// whatever the method (the journal's contract check asks too). A hash look-up for the paths
/// without parameters, a walk over the dozen templates otherwise; no allocation.
pub fn position(rest: &str) -> Option<usize> {
    static EXACT: OnceLock<FxHashMap<&'static str, usize>> = OnceLock::new();
    let exact = EXACT.get_or_init(|| {
        OPERATIONS.iter().enumerate().filter(|(_, (_, t))| !t.contains('{')).map(|(i, (_, t))| (*t, i)).collect()
    });
    if let Some(i) = exact.get(rest) {
        return Some(*i);
    }
    OPERATIONS.iter().position(|(_, t)| t.contains('{') && template_matches(t, rest))
}

/// The number of operation indexes: every operation, `control` and `unknown`.
pub const INDEXES: usize = OPERATIONS.len() + 2;

/// The label of operation index `i`: its id, `control` or `unknown` (`unknown` past the end).
pub fn name(i: usize) -> &'static str {
    match OPERATIONS.get(i) {
        Some((id, _)) => id,
        None if i == OPERATIONS.len() => CONTROL,
        None => UNKNOWN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_operation_ids() {
        let op = |p: &str| name(index(p));
        assert_eq!(op("/cdb-open-api/v1/rent/cabinet/query"), "O1");
        assert_eq!(op("/cdb-open-api/v1/cdb-open-api/v1/rent/cabinet/query"), "O7");
        assert_eq!(op("/cdb-open-api/v1/cabinet/detail/BJD60151"), "C5");
        assert_eq!(op("/cdb-open-api/v1/cabinet/bind2shop/Q/S"), "C10");
        assert_eq!(op("/cdb-open-api/v1/cabinet/bind2shop/Q"), "unknown");
        assert_eq!(op("/cdb-open-api/v1/cabinet/detail/"), "unknown");
        assert_eq!(op("/cdb-open-api/v1/order/list"), "R1");
        assert_eq!(op("/_sim/metrics"), "control");
        assert_eq!(op("/elsewhere"), "unknown");
        assert_eq!(name(usize::MAX), "unknown");
        assert_eq!(op("/cdb-open-api/v1/shop/delete"), "S5");
        assert_eq!(paths_of(" o2 ").collect::<Vec<_>>(), ["/rent/order/create"]);
        assert_eq!(paths_of("S5").count(), 2);
        assert!(is_operation("C13") && !is_operation("c13") && !is_operation("C14"));
    }
}
