//! Advance API / Cabinet (C1-C13, docs/api-reference.md): device commands, repair ejects, device
//! lists and details, shop binding, advertising.
//!
//! Lists use the platform's `p`-prefixed legacy names (`pCabinetid`, `pKakou`, `pBatteryid`
//! and its lower-case twin `pbatteryid`, which clients read both of). C4 answers with a string
//! `code` ("0"), as documented; every other endpoint with an integer.

use super::auth::AuthAgent;
use super::body::JsonBody;
use super::envelope::{self, Envelope};
use super::input::{bind_body, bind_list, Input, Int, Short, Text, Time};
use super::json_out::Times;
use super::operation::{schema, Answer, Body, Method, Operation, PathParam, StrayFields};
use super::paging::{paginate, Page};
use super::params::clip;
use super::route;
use super::status_block::StatusBlock;
use crate::clock::{fmt_datetime, Millis};
use crate::error::Error;
use crate::model::admin::{CabinetOp, Command, FaultReport, PopResult};
use crate::model::battery::BatteryFault;
use crate::model::cabinet::Ads;
use crate::model::cabinet::SlotFault;
use crate::model::event::CabinetReport;
use crate::model::{geohash, Battery, Cabinet, World};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    // The paths without parameters first: actix tries a scope's routes in order, and each
    // template on the way is a regular expression run against the path (see `api::routes`).
    cfg.route("/cabinet/getAllDevicePage", route::get().to(all_devices_page))
        .route("/cabinet/ejectByRent", route::post().to(eject_by_rent))
        .route("/cabinet/operation", route::post().to(operation))
        .route("/cabinet/ejectByRepair", route::post().to(eject_by_repair))
        .route("/cabinet/getAllDevice", route::get().to(all_devices))
        .route("/cabinet/getDeviceByShopId", route::get().to(devices_by_shop))
        .route("/cabinet/bindAd", route::post().to(bind_ad))
        // Documented as GET with a JSON body; clients send POST.
        .service(route::get_and_post("/cabinet/unbindShop", unbind_shop))
        .route("/cabinet/publishAd", route::post().to(publish_ad))
        .route("/cabinet/detail/{cabinetId:.*}", route::get().to(detail))
        .route("/cabinet/batteryListByCabinetId/{cabinetId:.*}", route::get().to(battery_list))
        .route("/cabinet/slotByCabinetId/{cabinetId:.*}", route::get().to(slot_list))
        .route("/cabinet/bind2shop/{qrcode}/{newshopid}", route::post().to(bind_to_shop));
}

/// C1-C13, as the OpenAPI document lists them.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        id: "C1",
        name: "operation",
        methods: &[Method::Post],
        path: "/cabinet/operation",
        tag: TAG,
        summary: "C1 Device Operation",
        description: "A slot operation (pop, lock, unlock, lockStopCharge) needs `slotNum`; a failed single pop is \
            2008 with the cabinet's reason, after its BATTERY_POPUP.",
        query: Some(schema::<OperationQuery>),
        ..Operation::BASE
    },
    Operation {
        id: "C2",
        name: "eject_by_repair",
        methods: &[Method::Post],
        path: "/cabinet/ejectByRepair",
        tag: TAG,
        summary: "C2 eject the battery for the specified device slot by repair",
        query: Some(schema::<EjectByRepair>),
        stray: Some(schema::<StrayFields>),
        ..Operation::BASE
    },
    Operation {
        id: "C3",
        name: "eject_by_rent",
        methods: &[Method::Post],
        path: "/cabinet/ejectByRent",
        tag: TAG,
        summary: "C3 Rent and eject the battery for the specified device slot",
        description: "A battery is never ejected twice for one order.",
        query: Some(schema::<EjectByRent>),
        ..Operation::BASE
    },
    Operation {
        id: "C4",
        name: "all_devices",
        path: "/cabinet/getAllDevice",
        tag: TAG,
        summary: "C4 Query All Device List",
        description: "`code` is the string \"0\" (a documented quirk of this endpoint).",
        answer: Answer::StringCode(schema::<Vec<DeviceRow<'static>>>),
        ..Operation::BASE
    },
    Operation {
        id: "C5",
        name: "detail",
        path: "/cabinet/detail/{cabinetId}",
        tag: TAG,
        summary: "C5 Query details based on Device Id",
        path_params: &[CABINET],
        answer: Answer::Data(schema::<CabinetDetailAnswer<'static>>),
        stray: Some(schema::<StrayFields>),
        ..Operation::BASE
    },
    Operation {
        id: "C6",
        name: "devices_by_shop",
        path: "/cabinet/getDeviceByShopId",
        tag: TAG,
        summary: "C6 get device list by shop id",
        query: Some(schema::<ShopRef>),
        answer: Answer::Data(schema::<Vec<DeviceRow<'static>>>),
        stray: Some(schema::<StrayFields>),
        ..Operation::BASE
    },
    Operation {
        id: "C7",
        name: "all_devices_page",
        path: "/cabinet/getAllDevicePage",
        tag: TAG,
        summary: "C7 get all device list by page",
        query: Some(schema::<PageQuery>),
        answer: Answer::Data(schema::<Page<DeviceRow<'static>>>),
        stray: Some(schema::<StrayFields>),
        ..Operation::BASE
    },
    Operation {
        id: "C8",
        name: "battery_list",
        path: "/cabinet/batteryListByCabinetId/{cabinetId}",
        tag: TAG,
        summary: "C8 Query battery list based on Device Id",
        path_params: &[CABINET],
        answer: Answer::Data(schema::<Vec<BatteryRow<'static>>>),
        stray: Some(schema::<StrayFields>),
        ..Operation::BASE
    },
    Operation {
        id: "C9",
        name: "slot_list",
        path: "/cabinet/slotByCabinetId/{cabinetId}",
        tag: TAG,
        summary: "C9 Query slot list based on Device Id",
        path_params: &[CABINET],
        answer: Answer::Data(schema::<Vec<SlotRow<'static>>>),
        stray: Some(schema::<StrayFields>),
        ..Operation::BASE
    },
    Operation {
        id: "C10",
        name: "bind_to_shop",
        methods: &[Method::Post],
        path: "/cabinet/bind2shop/{qrcode}/{newshopid}",
        tag: TAG,
        summary: "C10 binding device to shop",
        path_params: &[
            PathParam { name: "qrcode", description: "Device id or QR code.", example: "BJD60151" },
            PathParam { name: "newshopid", description: "Shop id.", example: "04679963e0" },
        ],
        ..Operation::BASE
    },
    Operation {
        id: "C11",
        name: "bind_ad",
        methods: &[Method::Post],
        path: "/cabinet/bindAd",
        tag: TAG,
        summary: "C11 Update cabinet advertising information",
        body: Some(Body::Typed(schema::<AdPublicationBody>)),
        stray: Some(schema::<StrayFields>),
        ..Operation::BASE
    },
    Operation {
        id: "C12",
        name: "unbind_shop",
        methods: &[Method::Get, Method::Post],
        path: "/cabinet/unbindShop",
        tag: TAG,
        summary: "C12 Device unbound to merchant (documented as GET with a JSON body)",
        description: "Documented as GET carrying a JSON body (an array of cabinet ids); clients use POST, both are \
            served.",
        body: Some(Body::Typed(schema::<Vec<Text>>)),
        ..Operation::BASE
    },
    Operation {
        id: "C13",
        name: "publish_ad",
        methods: &[Method::Post],
        path: "/cabinet/publishAd",
        tag: TAG,
        summary: "C13 Device advertisement publish",
        body: Some(Body::Typed(schema::<AdPublicationBody>)),
        ..Operation::BASE
    },
];

const TAG: &str = "Advance API / Cabinet";
const CABINET: PathParam =
    PathParam { name: "cabinetId", description: "Device id, QR code or QR-code URL.", example: "BJD60151" };

/// The cabinet of C1-C3: `cabinetid` as documented, `cabinetId` tolerated (the journal warns,
/// `--strict` refuses it before the handler runs). Not a flattened struct: serde buffers a
/// flattened input as text, and the numbers beside it would no longer bind from text.
fn cabinet_of<'a>(cabinetid: &'a Option<Text>, cabinet_id: &'a Option<Text>) -> Result<&'a str, Error> {
    cabinetid.as_ref().or(cabinet_id.as_ref()).map(|t| t.as_str()).ok_or_else(|| Error::missing_param("cabinetid"))
}

/// C3's parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EjectByRent {
    /// The cabinet.
    #[schemars(required, example = &"BJD60151")]
    pub cabinetid: Option<Text>,
    /// Tolerated spelling of `cabinetid` (the journal warns, `--strict` refuses it).
    #[serde(rename = "cabinetId")]
    #[schemars(skip)]
    pub cabinet_id: Option<Text>,
    /// The order the battery is for (O2's `tradeNo`, or a new back-office order id).
    pub rent_order_id: Text,
    /// The slot to eject (1-based); 0 lets the cabinet pick the best battery.
    pub slot_num: Int<0, 1000>,
}

/// C3 `POST /cabinet/ejectByRent?cabinetid=&rentOrderId=&slotNum=`: eject `slotNum` for the
/// order (0 lets the cabinet pick the best battery). An order that already ejected is refused:
/// a battery is never ejected twice for one order. A pending order named here is the client's
/// to eject from then on: its automatic eject is cancelled, and it fails (`status=0`) if no
/// `ejectByRent` succeeds within a minute. An id that is no order yet becomes a back-office
/// order (ADMIN_RENTAL_ORDER).
async fn eject_by_rent(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<EjectByRent>,
) -> Result<HttpResponse, Error> {
    let cabinet = cabinet_of(&q.cabinetid, &q.cabinet_id)?;
    let order = q.rent_order_id.as_str();
    let slot = q.slot_num.get() as u16;
    let now = state.clock.now();
    // Two writes: from the moment the client names the order, no automatic eject fires for
    // it, whether or not this eject is refused (docs/fidelity.md, "ejectByRent takes over").
    let (_, taken_over) = state.store.write(|w, out| {
        w.claim_eject(&agent.0, order, now, out);
        Ok(())
    })?;
    state.publish(taken_over);
    let (_, events) = state.store.write(|w, out| w.eject_by_rent(&agent.0, cabinet, order, slot, now, out))?;
    state.publish(events);
    Ok(envelope::ok_empty())
}

// ----- commands --------------------------------------------------------------------------------

/// A single-slot pop that did not come out is reported as `2008` with the cabinet's reason,
/// after its BATTERY_POPUP (outStatus "1") was published.
fn single_pop_outcome(cabinet: &str, results: &[PopResult]) -> Result<HttpResponse, Error> {
    match results {
        [r] if !r.ok => {
            Err(Error::slot_unavailable(format!("Pop failed on {cabinet} slot {}: {}.", r.slot, r.description)))
        }
        _ => Ok(envelope::ok_empty()),
    }
}

/// C1's `operationType` values, as the OpenAPI document lists them.
fn operation_types(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    let names: Vec<&str> = CabinetOp::ALL.iter().map(|(n, _)| *n).collect();
    schemars::json_schema!({ "type": "string", "enum": names })
}

fn op_names() -> String {
    CabinetOp::ALL.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
}

/// C1's parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OperationQuery {
    /// The cabinet.
    #[schemars(required, example = &"BJD60151")]
    pub cabinetid: Option<Text>,
    /// Tolerated spelling of `cabinetid` (the journal warns, `--strict` refuses it).
    #[serde(rename = "cabinetId")]
    #[schemars(skip)]
    pub cabinet_id: Option<Text>,
    /// pop, lock, unlock and lockStopCharge act on `slotNum`; the others on the whole cabinet.
    #[schemars(schema_with = "operation_types", example = &"pop")]
    pub operation_type: Text,
    /// The slot of a slot operation (1-based). Documented as required; cabinet-wide
    /// operations ignore it and may leave it out.
    #[schemars(required, example = 1)]
    pub slot_num: Option<Int<0, 1000>>,
    /// Lock reason, at most 500 characters; may be empty. Documented as required.
    #[schemars(required, example = &"")]
    pub reason: Option<Text>,
    /// 0: `batcabFault` is reported, 1: `batteryFault` is reported.
    #[serde(rename = "type")]
    pub kind: Option<Int<0, 1>>,
    /// A slot fault type to set on `slotNum` (0: none).
    pub batcab_fault: Option<SlotFault>,
    /// A battery fault type to set on the slot's battery (0: none).
    pub battery_fault: Option<BatteryFault>,
    /// Undocumented; checked to be an integer and otherwise ignored.
    pub gps_time: Option<i64>,
}

/// C1 `POST /cabinet/operation?cabinetid=&slotNum=&operationType=&reason=` (+ `batcabFault`,
/// `batteryFault`, `type`, `gpsTime`). Slot operations (`pop`, `lock`, `unlock`,
/// `lockStopCharge`) need `slotNum` 1..slots; cabinet-wide ones ignore it. A non-zero
/// `batcabFault` (with `type` 0 or absent) sets that slot fault on `slotNum`, a non-zero
/// `batteryFault` (with `type` 1 or absent) sets that fault on the slot's battery; either
/// raises BATTERY_ABNORMAL_WARNING before the operation runs.
async fn operation(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<OperationQuery>,
) -> Result<HttpResponse, Error> {
    let cabinet = cabinet_of(&q.cabinetid, &q.cabinet_id)?;
    let name = q.operation_type.as_str();
    let op = CabinetOp::parse(name)
        .ok_or_else(|| Error::bad_param("operationType", format!("'{}' is not one of {}", clip(name), op_names())))?;
    let slot = q.slot_num.map(|n| n.get() as u16);
    let reason = q.reason.as_deref().unwrap_or("");
    if reason.chars().count() > 500 {
        return Err(Error::bad_param("reason", "longer than 500 characters"));
    }
    let kind = q.kind.map(Int::get);
    let slot_fault = q.batcab_fault.unwrap_or_default();
    let battery_fault = q.battery_fault.unwrap_or_default();
    let fault = match kind {
        Some(0) => (!slot_fault.is_none()).then_some(FaultReport::Slot(slot_fault)),
        Some(_) => (!battery_fault.is_none()).then_some(FaultReport::Battery(battery_fault)),
        None if !slot_fault.is_none() => Some(FaultReport::Slot(slot_fault)),
        None => (!battery_fault.is_none()).then_some(FaultReport::Battery(battery_fault)),
    };
    let now = state.clock.now();
    let cmd = Command { op, slot, reason, fault };
    let (results, events) = state.store.write(|w, out| w.operate_cabinet(&agent.0, cabinet, &cmd, now, out))?;
    state.publish(events);
    if op == CabinetOp::Pop {
        return single_pop_outcome(cabinet, &results);
    }
    Ok(envelope::ok_empty())
}

/// C2's parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct EjectByRepair {
    /// The cabinet.
    #[schemars(required, example = &"BJD60151")]
    pub cabinetid: Option<Text>,
    /// Tolerated spelling of `cabinetid` (the journal warns, `--strict` refuses it).
    #[serde(rename = "cabinetId")]
    #[schemars(skip)]
    pub cabinet_id: Option<Text>,
    /// The slot to pop (1-based); 0 or absent pops every battery. Documented as required.
    #[schemars(required, example = 1)]
    pub slot_num: Option<Int<0, 1000>>,
}

/// C2 `POST /cabinet/ejectByRepair?cabinetid=&slotNum=`: pop one slot, or every battery when
/// `slotNum` is 0 or absent (BATTERY_POPUP per slot). Popped batteries leave the fleet's slots
/// but stay in the world as loose batteries; a return docks them again.
async fn eject_by_repair(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<EjectByRepair>,
) -> Result<HttpResponse, Error> {
    let cabinet = cabinet_of(&q.cabinetid, &q.cabinet_id)?;
    let slot = q.slot_num.map(|n| n.get() as u16);
    let now = state.clock.now();
    let (results, events) = state.store.write(|w, out| w.eject_by_repair(&agent.0, cabinet, slot, now, out))?;
    state.publish(events);
    if slot.unwrap_or(0) > 0 {
        return single_pop_outcome(cabinet, &results);
    }
    Ok(envelope::ok_empty())
}

// ----- device rows (C4, C6, C7) ---------------------------------------------------------------

/// The cabinet's last report as C4/C7 carry it in `pJson` (a JSON text inside the row).
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct LastReport<'a> {
    cabinet_id: &'a str,
    online: bool,
    signal: &'a str,
    ip: &'a str,
    port: u16,
    total: usize,
    batteries: usize,
    rentable: usize,
    returnable: usize,
    #[serde(serialize_with = "datetime_text")]
    time: Millis,
}

// Typed rather than a `json!` tree (the same keys in the same order): pages of these are
// what management dashboards poll. The texts made from numbers (times, coordinates, the
// geohash, `pJson`) are kept as the numbers and written as text when the row is, so a row
// costs no allocation of its own.
/// The row of one cabinet in the device lists (C4, C6, C7). `pId` is the cabinet's 1-based
/// position among all cabinets in id order (stable for a given world).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct DeviceRow<'a> {
    p_id: usize,
    /// The slot count, as text.
    #[serde(serialize_with = "envelope::number_text")]
    #[schemars(with = "String")]
    p_type: usize,
    p_cabinetid: &'a str,
    p_total: usize,
    p_borrow: usize,
    p_also: usize,
    #[serde(serialize_with = "datetime_text")]
    #[schemars(with = "String")]
    p_regtime: Millis,
    #[schemars(with = "String")]
    p_status: DeviceStatus,
    p_lognum: u64,
    #[serde(serialize_with = "datetime_text")]
    #[schemars(with = "String")]
    p_logtime: Millis,
    #[serde(serialize_with = "json_text")]
    #[schemars(with = "String")]
    p_json: LastReport<'a>,
    p_card: &'a str,
    /// The shop's longitude as text; "" for a cabinet in no shop.
    #[serde(serialize_with = "envelope::coord_or_empty")]
    #[schemars(with = "String")]
    p_jingdu: Option<f64>,
    #[serde(serialize_with = "envelope::coord_or_empty")]
    #[schemars(with = "String")]
    p_weidu: Option<f64>,
    /// The shop's 12-character geohash (latitude, longitude); "" for a cabinet in no shop.
    #[serde(serialize_with = "geohash_text")]
    #[schemars(with = "String")]
    p_hash: Option<(f64, f64)>,
    p_shopid: &'a str,
    p_shop_name: &'a str,
    p_online: bool,
    p_battery_num: usize,
    p_signal: &'a str,
    p_ip: &'a str,
}

/// A device row's `pStatus`, the authorisation status as text: "1" (authorised) for every
/// cabinet the simulator lists; the platform's "0" is for a device not yet authorised, which
/// the simulator has no notion of.
#[derive(Debug, Clone, Copy)]
struct DeviceStatus;

impl Serialize for DeviceStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str("1")
    }
}

fn datetime_text<S: serde::Serializer>(ms: &Millis, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&fmt_datetime(*ms))
}

fn json_text<S: serde::Serializer>(v: &LastReport, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&serde_json::to_string(v).map_err(serde::ser::Error::custom)?)
}

fn geohash_text<S: serde::Serializer>(v: &Option<(f64, f64)>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&v.map(|(lat, lng)| geohash::encode(lat, lng, 12)).unwrap_or_default())
}

fn device_row<'a>(w: &'a World, p_id: usize, cab: &'a Cabinet, now: i64) -> DeviceRow<'a> {
    let shop = cab.shop.as_deref().and_then(|s| w.shops().get(s));
    let counts = w.slot_counts(cab, now);
    let (returnable, rentable, batteries) = (counts.returnable, counts.rentable, counts.batteries);
    let last = LastReport {
        cabinet_id: &cab.id,
        online: cab.online,
        signal: &cab.signal,
        ip: &cab.ip,
        port: cab.port,
        total: cab.slots.len(),
        batteries,
        rentable,
        returnable,
        time: cab.last_seen,
    };
    DeviceRow {
        p_id,
        p_type: cab.slots.len(),
        p_cabinetid: &cab.id,
        p_total: cab.slots.len(),
        p_borrow: rentable,
        p_also: returnable,
        p_regtime: cab.registered_at,
        p_status: DeviceStatus,
        p_lognum: cab.handshakes,
        p_logtime: cab.last_seen,
        p_json: last,
        p_card: &cab.iccid,
        p_jingdu: shop.map(|s| s.longitude),
        p_weidu: shop.map(|s| s.latitude),
        p_hash: shop.map(|s| (s.latitude, s.longitude)),
        p_shopid: cab.shop.as_deref().unwrap_or(""),
        p_shop_name: shop.map(|s| s.name.as_str()).unwrap_or(""),
        p_online: cab.online,
        p_battery_num: batteries,
        p_signal: &cab.signal,
        p_ip: &cab.ip,
    }
}

impl DeviceRow<'_> {
    /// Write this row as `serde_json` writes it (tests compare the two), without its per-key
    /// escaping and without a temporary text per field: a C7 page is twenty of these, polled
    /// by dashboards (see `json_out`).
    fn write_json(&self, out: &mut Vec<u8>, times: &mut Times) {
        use super::json_out::{boolean, string, uint, uint_text};
        out.extend_from_slice(br#"{"pId":"#);
        uint(out, self.p_id as u64);
        out.extend_from_slice(br#","pType":"#);
        uint_text(out, self.p_type as u64);
        out.extend_from_slice(br#","pCabinetid":"#);
        string(out, self.p_cabinetid);
        out.extend_from_slice(br#","pTotal":"#);
        uint(out, self.p_total as u64);
        out.extend_from_slice(br#","pBorrow":"#);
        uint(out, self.p_borrow as u64);
        out.extend_from_slice(br#","pAlso":"#);
        uint(out, self.p_also as u64);
        out.extend_from_slice(br#","pRegtime":"#);
        times.write(out, self.p_regtime);
        // `DeviceStatus` is always "1".
        out.extend_from_slice(br#","pStatus":"1","pLognum":"#);
        uint(out, self.p_lognum);
        out.extend_from_slice(br#","pLogtime":"#);
        times.write(out, self.p_logtime);
        out.extend_from_slice(br#","pJson":"#);
        self.p_json.write_json_text(out, times);
        out.extend_from_slice(br#","pCard":"#);
        string(out, self.p_card);
        out.extend_from_slice(br#","pJingdu":"#);
        super::json_out::coord(out, self.p_jingdu);
        out.extend_from_slice(br#","pWeidu":"#);
        super::json_out::coord(out, self.p_weidu);
        out.extend_from_slice(br#","pHash":""#);
        if let Some((lat, lng)) = self.p_hash {
            super::json_out::geohash12(out, lat, lng);
        }
        out.extend_from_slice(br#"","pShopid":"#);
        string(out, self.p_shopid);
        out.extend_from_slice(br#","pShopName":"#);
        string(out, self.p_shop_name);
        out.extend_from_slice(br#","pOnline":"#);
        boolean(out, self.p_online);
        out.extend_from_slice(br#","pBatteryNum":"#);
        uint(out, self.p_battery_num as u64);
        out.extend_from_slice(br#","pSignal":"#);
        string(out, self.p_signal);
        out.extend_from_slice(br#","pIp":"#);
        string(out, self.p_ip);
        out.push(b'}');
    }
}

impl LastReport<'_> {
    /// Write this report as a JSON string holding its JSON text, as `serde_json` writes it.
    /// When the three texts need no escaping (generated ids, signal words and addresses do
    /// not), the escaped text is written directly: its only escapes are the quotes of the
    /// inner keys and strings. Anything else goes through `serde_json` twice.
    fn write_json_text(&self, out: &mut Vec<u8>, times: &mut Times) {
        use super::json_out::{boolean, is_plain, uint};
        if !(is_plain(self.cabinet_id) && is_plain(self.signal) && is_plain(self.ip)) {
            let inner = serde_json::to_string(self).expect("strings, numbers and booleans serialise");
            super::json_out::string(out, &inner);
            return;
        }
        out.extend_from_slice(br#""{\"cabinetId\":\""#);
        out.extend_from_slice(self.cabinet_id.as_bytes());
        out.extend_from_slice(br#"\",\"online\":"#);
        boolean(out, self.online);
        out.extend_from_slice(br#",\"signal\":\""#);
        out.extend_from_slice(self.signal.as_bytes());
        out.extend_from_slice(br#"\",\"ip\":\""#);
        out.extend_from_slice(self.ip.as_bytes());
        out.extend_from_slice(br#"\",\"port\":"#);
        uint(out, u64::from(self.port));
        out.extend_from_slice(br#",\"total\":"#);
        uint(out, self.total as u64);
        out.extend_from_slice(br#",\"batteries\":"#);
        uint(out, self.batteries as u64);
        out.extend_from_slice(br#",\"rentable\":"#);
        uint(out, self.rentable as u64);
        out.extend_from_slice(br#",\"returnable\":"#);
        uint(out, self.returnable as u64);
        out.extend_from_slice(br#",\"time\":\""#);
        times.write_bare(out, self.time);
        out.extend_from_slice(br#"\"}""#);
    }
}

/// C7's answer, `{"msg":"Successful operation","code":0,"data":<page>}`, as
/// `envelope::ok_bytes` writes it for `frame` with `rows` as its records (tests compare the
/// two). Each row is written as `rows` makes it: no page of rows is collected first.
fn write_device_page<'a>(frame: &Page<DeviceRow>, rows: impl Iterator<Item = DeviceRow<'a>>) -> Vec<u8> {
    use super::json_out::{page_end, page_start};
    let mut out = Vec::with_capacity(256 + 640 * frame.size.min(frame.total));
    let mut times = Times::default();
    page_start(&mut out, "data");
    for (i, row) in rows.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        row.write_json(&mut out, &mut times);
    }
    page_end(&mut out, frame);
    out
}

/// Rows of the agent's cabinets that pass `keep`, in id order.
fn device_rows<'a>(w: &'a World, agent: &str, now: i64, keep: impl Fn(&Cabinet) -> bool) -> Vec<DeviceRow<'a>> {
    w.cabinets()
        .values()
        .enumerate()
        .filter(|(_, c)| c.agent == agent && keep(c))
        .map(|(i, c)| device_row(w, i + 1, c, now))
        .collect()
}

/// C4 `GET /cabinet/getAllDevice`: every cabinet of the account; `code` is the string "0".
async fn all_devices(state: web::Data<AppState>, agent: AuthAgent) -> Result<HttpResponse, Error> {
    let now = state.clock.now();
    // Rows borrow the world, so they are serialised inside the read lock.
    let bytes = state.store.read(|w| Envelope::ok_string_code(device_rows(w, &agent.0, now, |_| true)).to_bytes())?;
    Ok(envelope::json_bytes(bytes))
}

/// C6's parameters: `shopid` as documented, `shopId` tolerated.
#[derive(Deserialize, JsonSchema)]
pub struct ShopRef {
    /// The shop.
    #[schemars(required)]
    pub shopid: Option<Text>,
    /// Tolerated spelling of `shopid`.
    #[serde(rename = "shopId")]
    #[schemars(skip)]
    pub shop_id: Option<Text>,
}

/// C6 `GET /cabinet/getDeviceByShopId?shopid=` (`shopId` tolerated): the cabinets standing in
/// one of the account's shops. An unknown shop is `3001`.
async fn devices_by_shop(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<ShopRef>,
) -> Result<HttpResponse, Error> {
    let shop =
        q.shopid.as_ref().or(q.shop_id.as_ref()).map(|t| t.as_str()).ok_or_else(|| Error::missing_param("shopid"))?;
    let now = state.clock.now();
    let bytes = state.store.read(|w| {
        w.shop_of(&agent.0, shop)?;
        envelope::ok_bytes(device_rows(w, &agent.0, now, |c| c.shop.as_deref() == Some(shop)))
    })?;
    Ok(envelope::json_bytes(bytes))
}

/// C7's parameters.
#[derive(Deserialize, JsonSchema)]
pub struct PageQuery {
    /// Page number, from 1 (a string in the docs; read as an integer).
    #[schemars(with = "String", example = &"1")]
    pub page: Int<1, 1_000_000>,
    /// Page size, 1..1000 (a string in the docs; read as an integer).
    #[schemars(with = "String", example = &"10")]
    pub limit: Int<1, 1000>,
}

/// C7 `GET /cabinet/getAllDevicePage?page=&limit=`: C4's rows a page at a time, the page in
/// `data` as `{records, total, size, current, pages}`.
async fn all_devices_page(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<PageQuery>,
) -> Result<HttpResponse, Error> {
    let page = q.page.get() as usize;
    let limit = q.limit.get() as usize;
    let now = state.clock.now();
    let data = state.store.read(|w| {
        // Page the cabinets first and build rows only for the page: fleets are large. The
        // agent's cabinets come from the world's table (a scan of 100,000 cabinets took
        // ~17 ms a request); the scan stays as the fallback.
        let mine: Vec<(usize, &Cabinet)> = match w.agent_cabinets(&agent.0) {
            Some(list) => {
                // Only the page's slice is walked, and each row is written as it is made.
                let skip = (page.max(1) - 1).saturating_mul(limit.max(1)).min(list.len());
                let size = limit.max(1);
                let frame = Page {
                    records: Vec::new(),
                    total: list.len(),
                    size,
                    current: page.max(1),
                    pages: list.len().div_ceil(size),
                };
                let rows = list[skip..]
                    .iter()
                    .take(size)
                    .filter_map(|(i, id)| w.listed_cabinet(*i, id).map(|c| device_row(w, i + 1, c, now)));
                // Rows borrow the world: written inside the read lock.
                return Ok(write_device_page(&frame, rows));
            }
            None => w.cabinets().values().enumerate().filter(|(_, c)| c.agent == *agent.0).collect(),
        };
        let p = paginate(mine, page, limit);
        let frame = Page { records: Vec::new(), total: p.total, size: p.size, current: p.current, pages: p.pages };
        Ok(write_device_page(&frame, p.records.iter().map(|(i, c)| device_row(w, i + 1, c, now))))
    })?;
    Ok(envelope::json_bytes(data))
}

// ----- slots and batteries (C5, C8, C9) -------------------------------------------------------

fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// A plausible pack temperature in °C: warm while charging, hot when swollen.
fn temperature(w: &World, b: &Battery, now: i64) -> i64 {
    if b.fault == BatteryFault::Swelling {
        45
    } else if b.fault != BatteryFault::CannotCharge && !b.charge_paused && b.vol_at(&w.settings().charge, now) < 100 {
        31
    } else {
        25
    }
}

/// The record of one slot (C5 `batcabs[]` and C9): empty slots have `pBatteryid` "". The
/// platform writes some names in two spellings (`pBatteryid`/`pbatteryid`,
/// `pcabinetid`/`pCabinetid`); both are kept, as clients read either.
#[derive(Serialize, JsonSchema)]
struct SlotRow<'a> {
    #[serde(rename = "pKakou")]
    slot: u16,
    #[serde(rename = "pBatteryid")]
    battery_id: &'a str,
    #[serde(rename = "pbatteryid")]
    battery_id_lower: &'a str,
    #[serde(rename = "pDianliang")]
    vol: u8,
    #[serde(rename = "pErrid")]
    err_id: BatteryFault,
    #[serde(rename = "pFaultType")]
    fault_type: SlotFault,
    #[serde(rename = "pFaultCause")]
    fault_cause: &'static str,
    #[serde(rename = "pBatteryFaultType")]
    battery_fault_type: BatteryFault,
    #[serde(rename = "pBatteryFaultCause")]
    battery_fault_cause: &'static str,
    #[serde(rename = "pIsGuard")]
    is_guard: i64,
    #[serde(rename = "pLock")]
    lock: i64,
    #[serde(rename = "pLockReason")]
    lock_reason: &'a str,
    #[serde(rename = "pChargeStop")]
    charge_stop: i64,
    #[serde(rename = "pRentable")]
    rentable: i64,
    #[serde(rename = "pcabinetid")]
    cabinet_id_lower: &'a str,
    #[serde(rename = "pCabinetid")]
    cabinet_id: &'a str,
}

fn slot_row<'a>(w: &'a World, cab: &'a Cabinet, n: u16, now: i64) -> SlotRow<'a> {
    let s = cab.slot(n);
    let bid = s.and_then(|s| s.battery.as_deref()).unwrap_or("");
    let b = w.batteries().get(bid);
    let fault_type = s.map(|s| s.reported_fault()).unwrap_or_default();
    let locked = s.is_some_and(|s| s.locked);
    let battery_fault = b.map(|b| b.fault).unwrap_or_default();
    SlotRow {
        slot: n,
        battery_id: bid,
        battery_id_lower: bid,
        vol: b.map(|b| b.vol_at(&w.settings().charge, now)).unwrap_or(0),
        err_id: battery_fault,
        fault_type,
        fault_cause: fault_type.cause(),
        battery_fault_type: battery_fault,
        battery_fault_cause: battery_fault.cause(),
        is_guard: flag(locked),
        lock: flag(locked),
        lock_reason: s.map(|s| s.lock_reason.as_str()).unwrap_or(""),
        charge_stop: flag(b.is_some_and(|b| b.charge_paused)),
        rentable: flag(w.is_rentable(cab, n, now)),
        cabinet_id_lower: &cab.id,
        cabinet_id: &cab.id,
    }
}

/// The record of the battery in one slot (C8).
#[derive(Serialize, JsonSchema)]
struct BatteryRow<'a> {
    #[serde(rename = "pKakou")]
    slot: u16,
    #[serde(rename = "pBatteryid")]
    battery_id: &'a str,
    #[serde(rename = "pbatteryid")]
    battery_id_lower: &'a str,
    #[serde(rename = "pDianliang")]
    vol: u8,
    #[serde(rename = "pTemperature")]
    temperature: i64,
    #[serde(rename = "pInfostatus")]
    info_status: &'static str,
    #[serde(rename = "pErrid")]
    err_id: BatteryFault,
    #[serde(rename = "pFaultType")]
    fault_type: SlotFault,
    #[serde(rename = "pFaultCause")]
    fault_cause: &'static str,
    #[serde(rename = "pBatteryFaultType")]
    battery_fault_type: BatteryFault,
    #[serde(rename = "pBatteryFaultCause")]
    battery_fault_cause: &'static str,
    #[serde(rename = "pIsGuard")]
    is_guard: i64,
    #[serde(rename = "pChargeStop")]
    charge_stop: i64,
    #[serde(rename = "pRentable")]
    rentable: i64,
    #[serde(rename = "pcabinetid")]
    cabinet_id_lower: &'a str,
    #[serde(rename = "pCabinetid")]
    cabinet_id: &'a str,
}

/// The battery in slot `n`, `None` for an empty slot.
fn battery_row<'a>(w: &'a World, cab: &'a Cabinet, n: u16, now: i64) -> Option<BatteryRow<'a>> {
    let s = cab.slot(n)?;
    let b = w.batteries().get(s.battery.as_deref()?)?;
    let fault_type = s.reported_fault();
    Some(BatteryRow {
        slot: n,
        battery_id: &b.id,
        battery_id_lower: &b.id,
        vol: b.vol_at(&w.settings().charge, now),
        temperature: temperature(w, b, now),
        info_status: if cab.online { "在线" } else { "离线" },
        err_id: b.fault,
        fault_type,
        fault_cause: fault_type.cause(),
        battery_fault_type: b.fault,
        battery_fault_cause: b.fault.cause(),
        is_guard: flag(s.locked),
        charge_stop: flag(b.charge_paused),
        rentable: flag(w.is_rentable(cab, n, now)),
        cabinet_id_lower: &cab.id,
        cabinet_id: &cab.id,
    })
}

/// The cabinet's last status report (C5 `subDeviceStatusReport`): the status block of a
/// CABINET_STATUS push, with the shop's `geoHash` and the `reportTime` (the last handshake).
fn status_report<'a>(w: &World, cab: &Cabinet, r: &'a CabinetReport) -> StatusBlock<'a> {
    let shop = cab.shop.as_deref().and_then(|s| w.shops().get(s));
    let geo_hash = shop.map(|s| geohash::encode(s.latitude, s.longitude, 12)).unwrap_or_default();
    StatusBlock::of(r).located(geo_hash, fmt_datetime(cab.last_seen))
}

/// C5's cabinet. `adConfigList` is the advertising as the client stored it (C11/C13), `[]`
/// before; `adUpdateTime` is left out until ads were set, as production leaves an unset
/// field out: never `null` where a client's types expect a time string (docs/fidelity.md,
/// "Types").
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct CabinetDetail<'a> {
    ip: &'a str,
    remark: &'a str,
    pos_online_status: &'static str,
    #[serde(rename = "type")]
    kind: String,
    slots: usize,
    qr_code: &'a str,
    online: bool,
    empty_slots: usize,
    busy_slots: usize,
    id: &'a str,
    shop_id: &'a str,
    shop_name: &'a str,
    signal: &'a str,
    pos_device_id: &'a str,
    batcabs: Vec<SlotRow<'a>>,
    sub_device_status_report: StatusBlock<'a>,
    ad_config_list: &'a [Value],
    #[serde(skip_serializing_if = "Option::is_none")]
    ad_update_time: Option<&'a str>,
}

/// C5's `data`.
#[derive(Serialize, JsonSchema)]
struct CabinetDetailAnswer<'a> {
    cabinet: CabinetDetail<'a>,
}

/// C5 `GET /cabinet/detail/{cabinetId}`: the cabinet (device id, QR code or QR-code URL)
/// with O1's cabinet fields, every slot in `batcabs`, its last `subDeviceStatusReport` and its
/// advertising. Offline cabinets answer too (`online` false): this is the back-office view.
async fn detail(state: web::Data<AppState>, agent: AuthAgent, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let now = state.clock.now();
    // The view borrows the world, so the answer is serialised inside the read lock.
    let bytes = state.store.read(|w| {
        let cab = w.resolve_cabinet(&agent.0, &path)?;
        let shop = cab.shop.as_deref().and_then(|s| w.shops().get(s));
        let busy = cab.battery_count();
        let report = w.report(cab, now);
        let ads = cab.ads.as_ref();
        Envelope::ok(CabinetDetailAnswer {
            cabinet: CabinetDetail {
                ip: &cab.ip,
                remark: &cab.remark,
                pos_online_status: if cab.pos_online { "online" } else { "offline" },
                kind: cab.slots.len().to_string(),
                slots: cab.slots.len(),
                qr_code: &cab.id,
                online: cab.online,
                empty_slots: cab.slots.len() - busy,
                busy_slots: busy,
                id: &cab.id,
                shop_id: cab.shop.as_deref().unwrap_or_default(),
                shop_name: shop.map(|s| s.name.as_str()).unwrap_or(""),
                signal: &cab.signal,
                pos_device_id: &cab.pos_device_id,
                batcabs: (1..=cab.slots.len() as u16).map(|n| slot_row(w, cab, n, now)).collect(),
                sub_device_status_report: status_report(w, cab, &report),
                ad_config_list: ads.map(|a| a.ad_config_list.as_slice()).unwrap_or_default(),
                ad_update_time: ads.map(|a| a.update_time.as_str()),
            },
        })
        .to_bytes()
    })?;
    Ok(envelope::json_bytes(bytes))
}

/// The rows of C8 and C9.
#[derive(Clone, Copy)]
enum Rows {
    /// C8: the batteries present, by slot.
    Batteries,
    /// C9: every slot, empty ones included.
    Slots,
}

/// One row per slot of the caller's cabinet named in the path: C8 and C9.
fn slot_rows(state: &AppState, agent: &AuthAgent, cabinet: &str, rows: Rows) -> Result<HttpResponse, Error> {
    let now = state.clock.now();
    // Rows borrow the world, so the answer is serialised inside the read lock.
    let bytes = state.store.read(|w| {
        let cab = w.resolve_cabinet(&agent.0, cabinet)?;
        let slots = 1..=cab.slots.len() as u16;
        match rows {
            Rows::Batteries => {
                Envelope::ok(slots.filter_map(|n| battery_row(w, cab, n, now)).collect::<Vec<_>>()).to_bytes()
            }
            Rows::Slots => Envelope::ok(slots.map(|n| slot_row(w, cab, n, now)).collect::<Vec<_>>()).to_bytes(),
        }
    })?;
    Ok(envelope::json_bytes(bytes))
}

/// C8 `GET /cabinet/batteryListByCabinetId/{cabinetId}`: the batteries present, by slot.
async fn battery_list(
    state: web::Data<AppState>,
    agent: AuthAgent,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    slot_rows(&state, &agent, &path, Rows::Batteries)
}

/// C9 `GET /cabinet/slotByCabinetId/{cabinetId}`: every slot, empty ones included.
async fn slot_list(
    state: web::Data<AppState>,
    agent: AuthAgent,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    slot_rows(&state, &agent, &path, Rows::Slots)
}

// ----- shop binding (C10, C12) ----------------------------------------------------------------

/// C10 `POST /cabinet/bind2shop/{qrcode}/{newshopid}`: stand the cabinet in the shop. New
/// orders there are billed with that shop's strategy; open orders keep theirs.
async fn bind_to_shop(
    state: web::Data<AppState>,
    agent: AuthAgent,
    path: web::Path<(String, String)>,
) -> Result<HttpResponse, Error> {
    let (qr, shop) = path.into_inner();
    state.store.write(|w, _| w.bind_cabinet_to_shop(&agent.0, &qr, shop.trim()))?;
    Ok(envelope::ok_empty())
}

/// C12 `GET|POST /cabinet/unbindShop` with a bare JSON array of device ids: take them out of
/// their shops. All ids must be the account's; nothing changes otherwise.
async fn unbind_shop(state: web::Data<AppState>, agent: AuthAgent, body: JsonBody) -> Result<HttpResponse, Error> {
    let ids: Vec<String> = bind_list::<Text>(&body, "device ids")?.into_iter().map(|t| t.0.into_string()).collect();
    state.store.write(|w, _| w.unbind_cabinets(&agent.0, &ids))?;
    Ok(envelope::ok_empty())
}

// ----- advertising (C11, C13) -----------------------------------------------------------------

/// Whether `code` is an ad position `P_GG_<slots>_TYPE,<0..3>`.
fn is_ad_code(code: &str) -> bool {
    let Some(rest) = code.strip_prefix("P_GG_") else {
        return false;
    };
    let Some((slots, pos)) = rest.split_once("_TYPE,") else {
        return false;
    };
    !slots.is_empty() && slots.bytes().all(|b| b.is_ascii_digit()) && matches!(pos, "0" | "1" | "2" | "3")
}

fn is_time_of_day(s: &str) -> bool {
    chrono::NaiveTime::parse_from_str(s, "%H:%M:%S").is_ok() || chrono::NaiveTime::parse_from_str(s, "%H:%M").is_ok()
}

/// C11's and C13's body (`OpenAdPublishDTO`): the cabinets and their advertising.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "OpenAdPublishDTO")]
pub struct AdPublicationBody {
    /// The cabinets (at least one).
    pub cabinet_id_list: Vec<Text>,
    /// Whether the online cabinets restart to show it (C13: this or `restart` is required).
    pub is_restart: Option<bool>,
    /// C13's example spells `isRestart` so; read when `isRestart` is absent.
    pub restart: Option<bool>,
    /// The positions and their media (C13: at least one; C11: empty or absent clears).
    pub ad_config_list: Option<Vec<AdConfig>>,
}

/// One `adConfigList[i]` item (`OpenAdConfigDTO`). Stored and shown back as sent.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "OpenAdConfigDTO")]
pub struct AdConfig {
    /// Position code `P_GG_<slots>_TYPE,<0..3>`.
    #[schemars(example = &"P_GG_8_TYPE,0")]
    pub code: Short<64>,
    /// image or video (C11 also programSheet).
    #[schemars(example = &"image")]
    pub media_type: Short<32>,
    /// The media's absolute http(s) URL (not for a programSheet).
    pub media_path: Option<Short<2000>>,
    /// First day shown.
    pub start_date: Option<Time>,
    /// Last day shown (not before `startDate`).
    pub end_date: Option<Time>,
    /// Daily start, HH:mm or HH:mm:ss.
    pub start_time: Option<Text>,
    /// Daily end, HH:mm or HH:mm:ss.
    pub end_time: Option<Text>,
    /// A programSheet's carousel (at least one entry).
    pub video_list: Option<Vec<VideoEntry>>,
}

/// One carousel entry of a programSheet (`VedioJsonDto`, sic).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "VedioJsonDto")]
pub struct VideoEntry {
    /// The media's absolute http(s) URL.
    pub url: Short<2000>,
    /// Key.
    pub key: Option<Short<200>>,
    /// Version.
    pub version: Option<Int<0, { i32::MAX as i64 }>>,
    /// Position in the carousel.
    pub seq: Option<Int<0, 10_000>>,
    /// Seconds shown.
    pub playout_time: Option<Int<0, 86_400>>,
}

/// Check one bound `adConfigList[i]` item beyond its types.
fn check_ad_config(c: &AdConfig, at: &str, program_sheet: bool) -> Result<(), Error> {
    let path = |n: &str| format!("{at}.{n}");
    if !is_ad_code(&c.code) {
        return Err(Error::bad_param(
            &path("code"),
            format!("'{}' is not a position code like P_GG_8_TYPE,0 (positions 0..3)", clip(&c.code)),
        ));
    }
    let media = &*c.media_type;
    let allowed: &[&str] = if program_sheet { &["image", "video", "programSheet"] } else { &["image", "video"] };
    if !allowed.contains(&media) {
        return Err(Error::bad_param(&path("mediaType"), format!("expected one of {}", allowed.join(", "))));
    }
    if media != "programSheet" {
        let url = c.media_path.as_ref().ok_or_else(|| Error::missing_param(&path("mediaPath")))?;
        crate::model::push_config::check_url(url).map_err(|why| Error::bad_param(&path("mediaPath"), why))?;
    }
    if let (Some(a), Some(b)) = (c.start_date, c.end_date) {
        if a.0 > b.0 {
            return Err(Error::bad_param(&path("endDate"), "it is before startDate"));
        }
    }
    for (n, v) in [("startTime", &c.start_time), ("endTime", &c.end_time)] {
        if v.as_ref().is_some_and(|v| !is_time_of_day(v)) {
            return Err(Error::bad_param(&path(n), "expected HH:mm or HH:mm:ss"));
        }
    }
    if media == "programSheet" {
        let list =
            c.video_list.as_deref().filter(|l| !l.is_empty()).ok_or_else(|| {
                Error::bad_param(&path("videoList"), "a programSheet needs at least one carousel entry")
            })?;
        for (i, e) in list.iter().enumerate() {
            crate::model::push_config::check_url(&e.url)
                .map_err(|why| Error::bad_param(&path(&format!("videoList[{i}].url")), why))?;
        }
    }
    Ok(())
}

/// An ad publication as bound: the cabinet ids, the configurations to store (as sent), the
/// restart flag.
struct AdPublication {
    ids: Vec<String>,
    ads: Vec<Value>,
    restart: Option<bool>,
}

/// Bind and check an ad publication body (`publish`: C13's stricter rules, else C11's).
fn ad_publication(body: &JsonBody, publish: bool) -> Result<AdPublication, Error> {
    let b: AdPublicationBody = bind_body(&body.0)?;
    if b.cabinet_id_list.is_empty() {
        return Err(Error::bad_param("cabinetIdList", "the list is empty"));
    }
    let configs = match b.ad_config_list {
        Some(list) => list,
        None if publish => return Err(Error::missing_param("adConfigList")),
        None => Vec::new(),
    };
    if publish && configs.is_empty() {
        return Err(Error::bad_param("adConfigList", "the list is empty"));
    }
    for (i, c) in configs.iter().enumerate() {
        check_ad_config(c, &format!("adConfigList[{i}]"), !publish)?;
    }
    // Stored as sent (members the simulator does not read included): C5 shows them back.
    let ads = body.0.get("adConfigList").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(AdPublication {
        ids: b.cabinet_id_list.into_iter().map(|t| t.0.into_string()).collect(),
        ads,
        restart: b.is_restart.or(b.restart),
    })
}

async fn store_ads(
    state: &AppState,
    agent: &str,
    ids: Vec<String>,
    ads: Vec<Value>,
    restart: bool,
) -> Result<HttpResponse, Error> {
    let now = state.clock.now();
    let stored = Ads { ad_config_list: ads, is_restart: restart, update_time: fmt_datetime(now) };
    let (_, events) = state.store.write(|w, out| w.set_ads(agent, &ids, &stored, restart, now, out))?;
    state.publish(events);
    Ok(envelope::ok_empty())
}

/// C11 `POST /cabinet/bindAd` with `{cabinetIdList, isRestart, adConfigList}`: replace the
/// cabinets' advertising (an empty list clears it). `isRestart` true reboots the online ones
/// (CABINET_OFFLINE now, CABINET_ONLINE after the restart delay).
async fn bind_ad(state: web::Data<AppState>, agent: AuthAgent, body: JsonBody) -> Result<HttpResponse, Error> {
    let a = ad_publication(&body, false)?;
    store_ads(&state, &agent.0, a.ids, a.ads, a.restart.unwrap_or(false)).await
}

/// C13 `POST /cabinet/publishAd` with `{cabinetIdList, isRestart|restart, adConfigList}` (all
/// required; image and video only): publish advertising to the cabinets.
async fn publish_ad(state: web::Data<AppState>, agent: AuthAgent, body: JsonBody) -> Result<HttpResponse, Error> {
    let a = ad_publication(&body, true)?;
    let restart = a.restart.ok_or_else(|| Error::missing_param("isRestart"))?;
    store_ads(&state, &agent.0, a.ids, a.ads, restart).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(text: &str, n: usize) -> DeviceRow<'_> {
        DeviceRow {
            p_id: n,
            p_type: n,
            p_cabinetid: text,
            p_total: n * 3,
            p_borrow: n / 2,
            p_also: 0,
            p_regtime: 1_772_442_000_000 + n as i64 * 7_777_777,
            p_status: DeviceStatus,
            p_lognum: u64::MAX - n as u64,
            // A year past 9999 takes chrono's path in both writers.
            p_logtime: if n % 2 == 1 { 253_402_300_800_000 + n as i64 } else { n as i64 * 1000 },
            p_json: LastReport {
                cabinet_id: text,
                online: n.is_multiple_of(2),
                signal: if n.is_multiple_of(3) { text } else { "strong" },
                ip: "10.0.0.1",
                port: n as u16,
                total: n,
                batteries: n / 3,
                rentable: n / 4,
                returnable: n / 5,
                time: n as i64 * 3_600_000,
            },
            p_card: text,
            p_jingdu: (n % 4 != 3).then_some(2.2750444607082394 + n as f64),
            p_weidu: (n % 4 != 3).then_some(-48.5),
            p_hash: (n % 4 != 3).then_some((48.8, 2.3 - n as f64 / 1000.0)),
            p_shopid: text,
            p_shop_name: text,
            p_online: n.is_multiple_of(3),
            p_battery_num: n,
            p_signal: text,
            p_ip: text,
        }
    }

    #[test]
    fn the_c7_writer_writes_what_serde_json_writes_for_the_page() {
        for text in ["", "BAA00000", "Caf\u{e9} \"Gare\" \\ \u{20ac}", "tab\tnew\nline\u{1}"] {
            for rows in [0, 1, 2, 20] {
                let page = Page {
                    records: (0..rows).map(|n| row(text, n * 7919 + n % 4)).collect(),
                    total: 100_000,
                    size: 20,
                    current: 3,
                    pages: 5000,
                };
                let frame = Page { records: Vec::new(), total: page.total, size: 20, current: 3, pages: 5000 };
                let fast = String::from_utf8(write_device_page(&frame, (0..rows).map(|n| row(text, n * 7919 + n % 4))))
                    .unwrap();
                let reference = String::from_utf8(envelope::ok_bytes(&page).unwrap()).unwrap();
                assert_eq!(fast, reference);
            }
        }
    }

    #[test]
    fn ad_position_codes() {
        assert!(is_ad_code("P_GG_8_TYPE,0"));
        assert!(is_ad_code("P_GG_48_TYPE,3"));
        assert!(!is_ad_code("P_GG_48_TYPE,4"));
        assert!(!is_ad_code("P_GG__TYPE,0"));
        assert!(!is_ad_code("banner"));
    }
}
