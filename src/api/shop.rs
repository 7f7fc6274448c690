//! Advance API / Shop (S1-S5, docs/api-reference.md): shop lists computed from the live world, and
//! shop create, update and delete.
//!
//! S1 answers with a string `code` ("0"), as documented; S2 and the writes answer with an
//! integer `code`, like every operation but S1 and C4 (S2's row is S1's, its envelope is not).

use super::auth::AuthAgent;
use super::body::JsonBody;
use super::envelope::{self, coord, Envelope};
use super::input::{bind_body, blank_is_text, Input, Int, Latitude, Longitude, Short, Text};
use super::operation::{schema, Answer, Body, Method, Operation, PathParam};
use super::params::clip;
use super::route;
use crate::clock::{Millis, MINUTE};
use crate::error::Error;
use crate::model::price::PriceTerms;
use crate::model::shop::{currency_name, currency_symbol};
use crate::model::shop_admin::{ShopDraft, ShopStock};
use crate::model::PriceId;
use crate::model::{Shop, World};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// S1-S5, as the OpenAPI document lists them.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        id: "S1",
        name: "shop_list",
        path: "/shop/getShopList",
        tag: TAG,
        summary: "S1 get all shop list",
        description: "`code` is the string \"0\" (a documented quirk of this endpoint).",
        answer: Answer::StringCode(schema::<Vec<ShopRow<'static>>>),
        ..Operation::BASE
    },
    Operation {
        id: "S2",
        name: "shop_detail",
        path: "/shop/detail/{shopid}",
        tag: TAG,
        summary: "S2 get shop detail",
        path_params: &[SHOP],
        answer: Answer::Data(schema::<ShopRow<'static>>),
        ..Operation::BASE
    },
    Operation {
        id: "S3",
        name: "create_shop",
        methods: &[Method::Post],
        path: "/shop/create",
        tag: TAG,
        summary: "S3 create new shop",
        body: Some(Body::Typed(schema::<ShopBody>)),
        ..Operation::BASE
    },
    Operation {
        id: "S4",
        name: "update_shop",
        methods: &[Method::Put, Method::Post],
        path: "/shop/update",
        tag: TAG,
        summary: "S4 update shop",
        description: "pNewid identifies the shop.",
        body: Some(Body::Typed(schema::<ShopBody>)),
        ..Operation::BASE
    },
    Operation {
        id: "S5",
        name: "delete_shop",
        methods: &[Method::Delete, Method::Post],
        path: "/shop/delete/{shopid}",
        tag: TAG,
        summary: "S5 Delete shop",
        description: "A shop that still has cabinets is refused with 3003.",
        path_params: &[SHOP],
        ..Operation::BASE
    },
    Operation {
        id: "S5",
        name: "delete_shop_by_query",
        methods: &[Method::Post, Method::Delete],
        path: "/shop/delete",
        tag: TAG,
        summary: "S5 as production clients call it: the shop in the query",
        query: Some(schema::<DeleteShopQuery>),
        ..Operation::BASE
    },
];

const TAG: &str = "Advance API / Shop";
const SHOP: PathParam = PathParam { name: "shopid", description: "Shop id.", example: "04679963e0" };

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/shop/getShopList", route::get().to(shop_list))
        .route("/shop/detail/{shopid}", route::get().to(shop_detail))
        .route("/shop/create", route::post().to(create_shop))
        // A production client updates with POST.
        .service(
            route::resource("/shop/update").route(route::put().to(update_shop)).route(route::post().to(update_shop)),
        )
        .service(
            route::resource("/shop/delete/{shopid}")
                .route(route::delete().to(delete_shop))
                .route(route::post().to(delete_shop)),
        )
        // A production client deletes with `POST /shop/delete?newID=`.
        .service(
            route::resource("/shop/delete")
                .route(route::post().to(delete_shop_by_query))
                .route(route::delete().to(delete_shop_by_query)),
        );
}

/// O6's `sceneType` labels (the list S1's `sceneType` shares).
const SCENES: [&str; 12] = [
    "Others",
    "Catering",
    "Medical",
    "Bars",
    "Shopping malls",
    "Foot baths",
    "Hotels",
    "Internet cafés",
    "KTV",
    "Airports",
    "High-speed-rail stations",
    "Bus stations",
];

/// `pStoreType` labels (S3).
const STORE_TYPES: [&str; 30] = [
    "Other",
    "Center",
    "Chinese food",
    "Park",
    "Leisure",
    "Accommodation",
    "Health care",
    "Fitness",
    "Venues",
    "Entertainment",
    "Pets",
    "Education",
    "Service",
    "Stalls",
    "Hookah",
    "Games",
    "Baking",
    "Barbecue",
    "Haircut",
    "Beauty",
    "Clinic",
    "Car workshop",
    "Car shop",
    "Mail",
    "Bar",
    "Hotel",
    "Retail",
    "Restaurant bar",
    "Catering",
    "Drinks",
];

fn label(list: &[&'static str], v: i64) -> &'static str {
    usize::try_from(v).ok().and_then(|i| list.get(i)).copied().unwrap_or("")
}

/// Minutes of the day of `HH:mm`, `24:00` included.
fn minutes_of(s: &str) -> Option<i64> {
    let (h, m) = s.trim().split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    ((0..=24).contains(&h) && (0..60).contains(&m) && h * 60 + m <= 1440).then_some(h * 60 + m)
}

/// The opening and closing time of an `HH:mm-HH:mm` opening-hours text.
fn opening_hours(text: &str) -> Option<(&str, &str)> {
    let (a, b) = text.split_once('-')?;
    (minutes_of(a).is_some() && minutes_of(b).is_some()).then_some((a.trim(), b.trim()))
}

/// Whether the shop is open at virtual `now` (UTC time of day); a shop without readable hours
/// counts as open. Hours past midnight (`18:00-02:00`) wrap.
fn is_open(text: &str, now: Millis) -> bool {
    let Some((a, b)) = opening_hours(text) else {
        return true;
    };
    let (open, close) = (minutes_of(a).unwrap_or(0), minutes_of(b).unwrap_or(1440));
    let t = (now / MINUTE).rem_euclid(1440);
    if open <= close {
        (open..close).contains(&t) || open == close
    } else {
        t >= open || t < close
    }
}

/// One day of a shop's opening hours (`shopWorkTime`), 1 = Monday.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct WorkDay<'a> {
    open_time: &'a str,
    close_time: &'a str,
    day_of_week: u8,
}

/// The row of one shop in S1 and S2: the documented fields (the `p`-prefixed organisation ids
/// and the business fields are empty here), then the rest of the shop as S3/S4 write it.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ShopRow<'a> {
    id: u64,
    ids: i64,
    #[serde(rename = "newID")]
    new_id: &'a str,
    p_ptid: &'static str,
    p_sfid: &'static str,
    p_csid: &'static str,
    p_qyid: &'static str,
    p_ywid: &'static str,
    p_dpid: &'static str,
    shop_name: &'a str,
    shop_address: &'a str,
    shop_address1: &'static str,
    mobile: &'a str,
    distance: &'static str,
    battery_num: String,
    free_num: String,
    cabinet_num: usize,
    longitude: String,
    latitude: String,
    shop_banner: &'a str,
    shop_icon: &'a str,
    shop_time: &'a str,
    shop_work_time: Vec<WorkDay<'a>>,
    shop_url: &'a str,
    distance_number: i64,
    scene_type: String,
    scene_type_desc: &'static str,
    p_store_type: String,
    p_store_category: &'static str,
    info_status: &'static str,
    p_priceid: PriceId,
    pos_price_id: PriceId,
    p_mian: String,
    p_jifei: String,
    p_jifei_danwei: String,
    price_unit: i64,
    p_fengding: String,
    p_yajin: String,
    overtime_amount: String,
    overtime_day: i64,
    p_currency: &'a str,
    currency_name: &'static str,
    can_return_num: String,
    charging_battery_num: String,
    shop_type: [u8; 1],
    cabinet_ids: String,
    business_type: &'static str,
    business_type_desc: &'static str,
    business_scene: &'static str,
    business_scene_desc: &'static str,
    business_category: &'static str,
    business_category_desc: &'static str,
    business_status: i64,
    extended_json: &'static str,
    p_auditor: i64,
    p_content: &'a str,
    p_location_id: &'a str,
    p_logo: &'a str,
    currency_symbol: &'static str,
}

/// The row of one shop in S1 and S2, computed from its cabinets' `stock` and its bound
/// strategies.
fn shop_row<'a>(w: &World, shop: &'a Shop, stock: &ShopStock, now: Millis) -> ShopRow<'a> {
    let strategy = w.strategy_for_shop(shop);
    let terms =
        strategy.map(|p| p.terms(&shop.currency)).unwrap_or_else(|| PriceTerms::platform_default(&shop.currency));
    let (price_time, price_unit) = strategy.map(|p| (p.price_time, p.price_unit)).unwrap_or((terms.period_minutes, 0));
    let work_time = opening_hours(&shop.opening_time)
        .map(|(open_time, close_time)| {
            (1..=7).map(|day_of_week| WorkDay { open_time, close_time, day_of_week }).collect()
        })
        .unwrap_or_default();
    ShopRow {
        id: shop.row,
        ids: 0,
        new_id: &shop.id,
        p_ptid: "",
        p_sfid: "",
        p_csid: "",
        p_qyid: "",
        p_ywid: "",
        p_dpid: "",
        shop_name: &shop.name,
        shop_address: shop.address.as_deref().unwrap_or_default(),
        shop_address1: "",
        mobile: &shop.mobile,
        distance: "",
        battery_num: stock.batteries.to_string(),
        free_num: stock.rentable.to_string(),
        cabinet_num: stock.cabinets.len(),
        longitude: coord(shop.longitude),
        latitude: coord(shop.latitude),
        shop_banner: &shop.banner,
        shop_icon: &shop.icon,
        shop_time: &shop.opening_time,
        shop_work_time: work_time,
        shop_url: &shop.logo,
        distance_number: 0,
        scene_type: shop.scene_type.to_string(),
        scene_type_desc: label(&SCENES, shop.scene_type),
        p_store_type: shop.store_type.to_string(),
        p_store_category: label(&STORE_TYPES, shop.store_type),
        info_status: if stock.online { "1" } else { "0" },
        p_priceid: shop.price_id.unwrap_or_default(),
        pos_price_id: shop.pos_price_id.unwrap_or_default(),
        p_mian: terms.free_minutes.to_string(),
        p_jifei: terms.price.to_string(),
        p_jifei_danwei: price_time.to_string(),
        price_unit,
        p_fengding: terms.daily_max.to_string(),
        p_yajin: terms.deposit.to_string(),
        overtime_amount: terms.timeout_amount.to_string(),
        overtime_day: terms.timeout_day,
        p_currency: &shop.currency,
        currency_name: currency_name(&shop.currency).unwrap_or(""),
        can_return_num: stock.returnable.to_string(),
        charging_battery_num: stock.charging.to_string(),
        shop_type: [1],
        cabinet_ids: stock.cabinets.join(","),
        business_type: "",
        business_type_desc: "",
        business_scene: "",
        business_scene_desc: "",
        business_category: "",
        business_category_desc: "",
        business_status: i64::from(is_open(&shop.opening_time, now)),
        extended_json: "",
        p_auditor: shop.auditor,
        p_content: &shop.content,
        p_location_id: &shop.location_id,
        p_logo: &shop.logo,
        currency_symbol: currency_symbol(&shop.currency).unwrap_or(""),
    }
}

/// S1 `GET /shop/getShopList`: every shop of the account, in row order.
async fn shop_list(state: web::Data<AppState>, agent: AuthAgent) -> Result<HttpResponse, Error> {
    let now = state.clock.now();
    // Rows borrow the world, so the answer is serialised inside the read lock.
    let bytes = state.store.read(|w| {
        let by_shop = w.cabinets_by_shop(&agent.0);
        let mut shops: Vec<&Shop> = w.shops().values().filter(|s| s.agent == *agent.0).collect();
        shops.sort_by_key(|s| s.row);
        let rows = shops
            .into_iter()
            .map(|s| {
                let stock = w.stock_of(by_shop.get(s.id.as_str()).into_iter().flatten().copied(), now);
                shop_row(w, s, &stock, now)
            })
            .collect::<Vec<_>>();
        // S1's `code` is the string "0".
        Envelope::ok_string_code(rows).to_bytes()
    })?;
    Ok(envelope::json_bytes(bytes))
}

/// S2 `GET /shop/detail/{shopid}`: one shop, as its S1 row, with an integer `code` (only S1
/// and C4 have string codes).
async fn shop_detail(
    state: web::Data<AppState>,
    agent: AuthAgent,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    let now = state.clock.now();
    let bytes = state.store.read(|w| {
        let shop = w.shop_of(&agent.0, path.trim())?;
        Envelope::ok(shop_row(w, shop, &w.shop_stock(shop, now), now)).to_bytes()
    })?;
    Ok(envelope::json_bytes(bytes))
}

/// A shop id usable in paths: 1..64 of `A-Z a-z 0-9 _ -`.
fn check_shop_id(id: &str) -> Result<(), Error> {
    if id.len() > 64 || !id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(Error::bad_param("pNewid", format!("'{}' must be 1..64 letters, digits, '_' or '-'", clip(id))));
    }
    Ok(())
}

/// S3's and S4's body (`CdbShopEntity`). Coordinates and numbers may come as strings (they
/// are strings in the docs).
#[derive(Deserialize, JsonSchema)]
#[schemars(rename = "CdbShopEntity")]
pub struct ShopBody {
    /// Shop id: 1..64 letters, digits, '_' or '-'. S4 updates the shop it names.
    #[serde(rename = "pNewid")]
    #[schemars(example = &"04679963e0")]
    pub p_newid: Short<64>,
    /// Name.
    #[serde(rename = "pName")]
    pub p_name: Short<100>,
    /// Longitude (经度), -180..180.
    #[serde(rename = "pJingdu")]
    #[schemars(with = "String", example = &"2.3376")]
    pub p_jingdu: Longitude,
    /// Latitude (纬度), -90..90.
    #[serde(rename = "pWeidu")]
    #[schemars(with = "String", example = &"48.8606")]
    pub p_weidu: Latitude,
    /// Address; on S4, blank clears it and absent keeps it.
    #[serde(rename = "pAddress", default, deserialize_with = "blank_is_text")]
    #[schemars(with = "Option<Short<500>>")]
    pub p_address: Option<String>,
    /// ISO currency code (one the simulator knows; docs/api-reference.md).
    #[serde(rename = "pCurrency")]
    pub p_currency: Option<Text>,
    /// Scene type, 0..36.
    #[serde(rename = "pSceneType")]
    pub p_scene_type: Option<Int<0, 36>>,
    /// Store type (an index into the platform's list).
    #[serde(rename = "pStoreType")]
    pub p_store_type: Option<Int<0, { STORE_TYPES.len() as i64 - 1 }>>,
    /// 0 disabled, 1 enabled.
    #[serde(rename = "pAuditor")]
    pub p_auditor: Option<Int<0, 1>>,
    /// Description; on S4, blank clears it.
    #[serde(rename = "pContent", default, deserialize_with = "blank_is_text")]
    #[schemars(with = "Option<Short<2000>>")]
    pub p_content: Option<String>,
    /// Stripe Terminal location id; on S4, blank clears it.
    #[serde(rename = "pLocationId", default, deserialize_with = "blank_is_text")]
    #[schemars(with = "Option<Short<100>>")]
    pub p_location_id: Option<String>,
    /// Logo URL; on S4, blank clears it.
    #[serde(rename = "pLogo", default, deserialize_with = "blank_is_text")]
    #[schemars(with = "Option<Short<1000>>")]
    pub p_logo: Option<String>,
}

/// A text member within `max` characters, trimmed (`None` stays `None`).
fn text_within(v: Option<String>, name: &str, max: usize) -> Result<Option<String>, Error> {
    match v {
        Some(t) if t.chars().count() > max => Err(Error::bad_param(name, format!("longer than {max} characters"))),
        v => Ok(v.map(|t| t.trim().to_string())),
    }
}

/// Bind and check a `CdbShopEntity` body (S3, S4).
fn shop_draft(body: &JsonBody) -> Result<ShopDraft, Error> {
    let b: ShopBody = bind_body(&body.0)?;
    check_shop_id(&b.p_newid)?;
    let currency = match b.p_currency {
        None => None,
        Some(c) => {
            let c = c.to_ascii_uppercase();
            if currency_symbol(&c).is_none() {
                let known: Vec<&str> = crate::model::shop::CURRENCIES.iter().map(|c| c.0).collect();
                return Err(Error::bad_param(
                    "pCurrency",
                    format!("'{}' is not a known currency ({})", clip(&c), known.join(", ")),
                ));
            }
            Some(c)
        }
    };
    Ok(ShopDraft {
        id: b.p_newid.0,
        name: b.p_name.0,
        latitude: b.p_weidu.0,
        longitude: b.p_jingdu.0,
        address: text_within(b.p_address, "pAddress", 500)?,
        currency,
        scene_type: b.p_scene_type.map(Int::get),
        store_type: b.p_store_type.map(Int::get),
        auditor: b.p_auditor.map(Int::get),
        content: text_within(b.p_content, "pContent", 2000)?,
        location_id: text_within(b.p_location_id, "pLocationId", 100)?,
        logo: text_within(b.p_logo, "pLogo", 1000)?,
    })
}

/// S3 `POST /shop/create` with a `CdbShopEntity` body: a new shop (required `pNewid`, `pName`,
/// `pJingdu`, `pWeidu`). A taken id is `3002`.
async fn create_shop(state: web::Data<AppState>, agent: AuthAgent, body: JsonBody) -> Result<HttpResponse, Error> {
    let draft = shop_draft(&body)?;
    let now = state.clock.now();
    state.store.write(|w, _| w.create_shop(&agent.0, draft, now))?;
    Ok(envelope::ok_empty())
}

/// S4 `PUT /shop/update` (POST tolerated): update the shop named by `pNewid`; optional fields
/// that are absent keep their value.
async fn update_shop(state: web::Data<AppState>, agent: AuthAgent, body: JsonBody) -> Result<HttpResponse, Error> {
    let draft = shop_draft(&body)?;
    state.store.write(|w, _| w.update_shop(&agent.0, draft))?;
    Ok(envelope::ok_empty())
}

async fn delete(state: &AppState, agent: &str, id: &str) -> Result<HttpResponse, Error> {
    state.store.write(|w, _| w.delete_shop(agent, id))?;
    Ok(envelope::ok_empty())
}

/// S5 `DELETE /shop/delete/{shopid}`: delete a shop. One that still has cabinets is refused
/// with `3003` (unbind them with `unbindShop` or move them with `bind2shop` first).
async fn delete_shop(
    state: web::Data<AppState>,
    agent: AuthAgent,
    path: web::Path<String>,
) -> Result<HttpResponse, Error> {
    delete(&state, &agent.0, path.trim()).await
}

/// S5-by-query's parameters: the shop as `newID` (`shopid`, `shopId` and `pNewid` tolerated, in
/// that order of preference).
#[derive(Deserialize, JsonSchema)]
pub struct DeleteShopQuery {
    /// The shop to delete.
    #[serde(rename = "newID")]
    #[schemars(required)]
    pub new_id: Option<Text>,
    /// Tolerated spelling.
    #[schemars(skip)]
    pub shopid: Option<Text>,
    /// Tolerated spelling.
    #[serde(rename = "shopId")]
    #[schemars(skip)]
    pub shop_id: Option<Text>,
    /// Tolerated spelling.
    #[serde(rename = "pNewid")]
    #[schemars(skip)]
    pub p_newid: Option<Text>,
}

/// S5 as a production client calls it: `POST /shop/delete?newID=` (`shopid`, `shopId` too).
async fn delete_shop_by_query(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<DeleteShopQuery>,
) -> Result<HttpResponse, Error> {
    let id = [&q.new_id, &q.shopid, &q.shop_id, &q.p_newid]
        .into_iter()
        .find_map(|v| v.as_deref())
        .ok_or_else(|| Error::missing_param("newID"))?;
    delete(&state, &agent.0, id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn opening_hours_decide_business_status() {
        let at = |h: i64, m: i64| h * 60 * MINUTE + m * MINUTE;
        assert!(is_open("09:00-22:00", at(9, 0)));
        assert!(!is_open("09:00-22:00", at(22, 0)));
        assert!(!is_open("09:00-22:00", at(8, 59)));
        assert!(is_open("00:00-24:00", at(23, 59)));
        assert!(is_open("18:00-02:00", at(1, 0)));
        assert!(!is_open("18:00-02:00", at(12, 0)));
        assert!(is_open("", at(3, 0)));
        assert_eq!(opening_hours("09:00-22:00"), Some(("09:00", "22:00")));
        assert_eq!(opening_hours("all day"), None);
    }
}
