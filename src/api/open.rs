//! Open API O1-O7 (docs/api-reference.md, "Open API"): device info, the rent order life cycle, the geo list.

use super::answer_cache;
use super::auth::AuthAgent;
use super::envelope::{self, coord, Amount, Envelope};
use super::input::{Input, Int, Latitude, Longitude, Text};
use super::operation::{schema, Answer, Method, Operation};
use super::route;
use crate::clock::fmt_datetime;
use crate::error::Error;
use crate::model::geo;
use crate::model::price::{PriceTerms, Rates};
use crate::model::shop::currency_symbol;
use crate::model::PriceId;
use crate::model::{Cabinet, OrderOrigin, OrderStatus, PriceStrategy, Shop, World};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Register the Open API routes (relative to `/cdb-open-api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    // One resource a path (see `route::resource`): O1 first, then the geo list O6, the order
    // operations a rent walks through, the hidden O7 last.
    cfg.service(route::get_and_post("/rent/cabinet/query", device_info))
        .service(route::get_and_post("/rent/cabinet/list", device_list))
        .service(route::resource("/rent/order/create").route(route::post().to(create_order)))
        .service(route::get_and_post("/rent/order/detail", order_detail))
        .service(route::get_and_post("/rent/order/query", query_order))
        .service(route::resource("/rent/order/close").route(route::post().to(close_order)))
        .service(route::get_and_post("/cdb-open-api/v1/rent/cabinet/query", device_info));
}

/// O1-O7, as the OpenAPI document lists them.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        id: "O1",
        name: "device_info",
        methods: &[Method::Get, Method::Post],
        path: "/rent/cabinet/query",
        tag: "Open API",
        summary: "O1 1.Get Device Info",
        description: "Batteries, shop and price strategy of a cabinet. Offline cabinet: 2004 `Device not online.`; \
            not the account's: 2002 `QR code unbound device.`. The hidden O7 page duplicates O1 as POST; both \
            methods are served.",
        query: Some(schema::<DeviceQuery>),
        answer: Answer::Data(schema::<DeviceInfo<'static>>),
        ..Operation::BASE
    },
    Operation {
        id: "O7",
        name: "device_info_copy",
        methods: &[Method::Post, Method::Get],
        path: "/cdb-open-api/v1/rent/cabinet/query",
        tag: "Open API",
        summary: "O7 1.Get Device Info Copy (hidden; literal double-prefixed path)",
        description: "The hidden page declares its path with the prefix already included; taken literally against \
            the base URL the prefix repeats. Served as O1.",
        query: Some(schema::<DeviceQuery>),
        answer: Answer::Data(schema::<DeviceInfo<'static>>),
        ..Operation::BASE
    },
    Operation {
        id: "O2",
        name: "create_order",
        methods: &[Method::Post],
        path: "/rent/order/create",
        tag: "Open API",
        summary: "O2 2.Create Rent Order",
        description: "Answers at once; the cabinet ejects the best battery after --eject-delay-s virtual seconds \
            unless C3 ejectByRent names a slot first. The result is posted to `callbackURL` as a form \
            (status=0|1|2&tradeNo=...), see docs/event-push.md.",
        query: Some(schema::<CreateOrder>),
        answer: Answer::Data(schema::<Created<'static>>),
        ..Operation::BASE
    },
    Operation {
        id: "O3",
        name: "query_order",
        methods: &[Method::Post, Method::Get],
        path: "/rent/order/query",
        tag: "Open API",
        summary: "O3 3.Query Rent Order Status",
        description: "The result is delivered to the order's callbackURL (sent again for the current state). GET is \
            accepted too.",
        query: Some(schema::<OrderRef>),
        answer: Answer::Data(schema::<Queried<'static>>),
        ..Operation::BASE
    },
    Operation {
        id: "O4",
        name: "close_order",
        methods: &[Method::Post],
        path: "/rent/order/close",
        tag: "Open API",
        summary: "O4 4.Mark order status as completed",
        description: "A pending order is revoked; an order in lease is closed and billed to now.",
        query: Some(schema::<OrderRef>),
        ..Operation::BASE
    },
    Operation {
        id: "O5",
        name: "order_detail",
        methods: &[Method::Get, Method::Post],
        path: "/rent/order/detail",
        tag: "Open API",
        summary: "O5 5.Get Order Detail",
        query: Some(schema::<OrderRef>),
        answer: Answer::Data(schema::<OrderDetail<'static>>),
        ..Operation::BASE
    },
    Operation {
        id: "O6",
        name: "device_list",
        methods: &[Method::Post, Method::Get],
        path: "/rent/cabinet/list",
        tag: "Open API",
        summary: "O6 6.Get Deivice List (sic)",
        description: "The account's shops near a point, nearest first, at most 100; the array is in top-level `list`.",
        query: Some(schema::<GeoQuery>),
        answer: Answer::List(schema::<Vec<NearbyShop<'static>>>),
        ..Operation::BASE
    },
];

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct PriceView<'a> {
    deposit_amount: Amount,
    price_minute: i64,
    auto_refund: i64,
    timeout_amount: Amount,
    timeout_day: i64,
    daily_max_price: Amount,
    free_minutes: i64,
    currency_symbol: &'a str,
    price: Amount,
    name: &'a str,
    currency: &'a str,
    shop_id: &'a str,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct ShopView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<&'a str>,
    #[serde(serialize_with = "envelope::number_text")]
    #[schemars(with = "String")]
    price_minute: i64,
    city: &'a str,
    daily_max_price: Amount,
    #[serde(serialize_with = "envelope::coord_or_empty")]
    #[schemars(with = "String")]
    latitude: Option<f64>,
    opening_time: &'a str,
    free_minutes: i64,
    icon: &'a str,
    content: &'a str,
    province: &'a str,
    price: Amount,
    name: &'a str,
    deposit: Amount,
    logo: &'a str,
    id: &'a str,
    region: &'a str,
    #[serde(serialize_with = "envelope::coord_or_empty")]
    #[schemars(with = "String")]
    longitude: Option<f64>,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct BatteryView<'a> {
    slot_num: u16,
    vol: u8,
    battery_id: &'a str,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct CabinetView<'a> {
    ip: &'a str,
    remark: &'a str,
    pos_online_status: &'static str,
    #[serde(rename = "type", serialize_with = "envelope::number_text")]
    #[schemars(with = "String")]
    kind: usize,
    slots: usize,
    qr_code: &'a str,
    online: bool,
    empty_slots: usize,
    busy_slots: usize,
    id: &'a str,
    shop_id: &'a str,
    signal: &'a str,
    pos_device_id: &'a str,
}

#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct DeviceInfo<'a> {
    price_strategy: PriceView<'a>,
    shop: ShopView<'a>,
    batteries: Vec<BatteryView<'a>>,
    cabinet: CabinetView<'a>,
}

/// Serialise O1 for `cab` inside the read lock (borrowed views, no copies of the world), and
/// until when the answer holds (no battery's `vol` in it moves before then).
///
/// With `steady`, also until when the answer holds (see `World::docked_charges`), for the
/// answer cache; without, the second value is `now`.
fn device_info_bytes(w: &World, cab: &Cabinet, now: i64, steady: bool) -> Result<(Vec<u8>, i64), Error> {
    let shop: Option<&Shop> = cab.shop.as_deref().and_then(|s| w.shops().get(s));
    let strategy = shop.and_then(|s| w.strategy_for_shop(s));
    let currency = shop.map(|s| s.currency.as_str()).unwrap_or("USD");
    // `World::terms_for` without looking the shop up a second time, and only the numbers:
    // the terms an order keeps copy the name, the currency and the timetable.
    let terms = strategy.map_or(Rates::PLATFORM_DEFAULT, PriceStrategy::rates);
    let price_name = strategy.map(|p| p.name.as_str()).unwrap_or("Default");
    let shop_id = shop.map(|s| s.id.as_str()).unwrap_or("");
    let (docked, until) = w.docked_charges(cab, now, steady);
    let batteries = docked
        .into_iter()
        .map(|(slot_num, battery_id, vol)| BatteryView { slot_num, vol, battery_id })
        .collect::<Vec<_>>();
    let busy = batteries.len();
    let info = DeviceInfo {
        price_strategy: PriceView {
            deposit_amount: Amount(terms.deposit),
            price_minute: terms.period_minutes,
            auto_refund: terms.auto_refund,
            timeout_amount: Amount(terms.timeout_amount),
            timeout_day: terms.timeout_day,
            daily_max_price: Amount(terms.daily_max),
            free_minutes: terms.free_minutes,
            currency_symbol: currency_symbol(currency).unwrap_or(""),
            price: Amount(terms.price),
            name: price_name,
            currency,
            shop_id,
        },
        shop: ShopView {
            address: shop.and_then(|s| s.address.as_deref()),
            price_minute: terms.period_minutes,
            city: shop.map(|s| s.city.as_str()).unwrap_or(""),
            daily_max_price: Amount(terms.daily_max),
            latitude: shop.map(|s| s.latitude),
            opening_time: shop.map(|s| s.opening_time.as_str()).unwrap_or(""),
            free_minutes: terms.free_minutes,
            icon: shop.map(|s| s.icon.as_str()).unwrap_or(""),
            content: shop.map(|s| s.content.as_str()).unwrap_or(""),
            province: shop.map(|s| s.province.as_str()).unwrap_or(""),
            price: Amount(terms.price),
            name: shop.map(|s| s.name.as_str()).unwrap_or(""),
            deposit: Amount(terms.deposit),
            logo: shop.map(|s| s.logo.as_str()).unwrap_or(""),
            id: shop_id,
            region: shop.map(|s| s.region.as_str()).unwrap_or(""),
            longitude: shop.map(|s| s.longitude),
        },
        batteries,
        cabinet: CabinetView {
            ip: &cab.ip,
            remark: &cab.remark,
            pos_online_status: if cab.pos_online { "online" } else { "offline" },
            kind: cab.slots.len(),
            slots: cab.slots.len(),
            qr_code: &cab.id,
            online: cab.online,
            empty_slots: cab.slots.len() - busy,
            busy_slots: busy,
            id: &cab.id,
            shop_id,
            signal: &cab.signal,
            pos_device_id: &cab.pos_device_id,
        },
    };
    let mut out = Vec::with_capacity(1536 + 48 * info.batteries.len());
    info.write_envelope(&mut out);
    Ok((out, until))
}

impl DeviceInfo<'_> {
    /// Write `{"msg":"Successful operation","code":0,"data":<this>}`: the bytes
    /// `envelope::ok_bytes` gives for this view (tests compare the two), several times faster
    /// (see `json_out`). O1 over a large fleet is the most frequent fresh read of a load test.
    fn write_envelope(&self, out: &mut Vec<u8>) {
        use super::json_out::{amount, boolean, coord, int, int_text, string, uint, uint_text};
        out.extend_from_slice(br#"{"msg":"#);
        string(out, envelope::OK_MSG);
        out.extend_from_slice(br#","code":0,"data":{"priceStrategy":{"depositAmount":"#);
        let p = &self.price_strategy;
        amount(out, p.deposit_amount);
        out.extend_from_slice(br#","priceMinute":"#);
        int(out, p.price_minute);
        out.extend_from_slice(br#","autoRefund":"#);
        int(out, p.auto_refund);
        out.extend_from_slice(br#","timeoutAmount":"#);
        amount(out, p.timeout_amount);
        out.extend_from_slice(br#","timeoutDay":"#);
        int(out, p.timeout_day);
        out.extend_from_slice(br#","dailyMaxPrice":"#);
        amount(out, p.daily_max_price);
        out.extend_from_slice(br#","freeMinutes":"#);
        int(out, p.free_minutes);
        out.extend_from_slice(br#","currencySymbol":"#);
        string(out, p.currency_symbol);
        out.extend_from_slice(br#","price":"#);
        amount(out, p.price);
        out.extend_from_slice(br#","name":"#);
        string(out, p.name);
        out.extend_from_slice(br#","currency":"#);
        string(out, p.currency);
        out.extend_from_slice(br#","shopId":"#);
        string(out, p.shop_id);
        let s = &self.shop;
        out.extend_from_slice(br#"},"shop":{"#);
        if let Some(address) = s.address {
            out.extend_from_slice(br#""address":"#);
            string(out, address);
            out.push(b',');
        }
        out.extend_from_slice(br#""priceMinute":"#);
        int_text(out, s.price_minute);
        out.extend_from_slice(br#","city":"#);
        string(out, s.city);
        out.extend_from_slice(br#","dailyMaxPrice":"#);
        amount(out, s.daily_max_price);
        out.extend_from_slice(br#","latitude":"#);
        coord(out, s.latitude);
        out.extend_from_slice(br#","openingTime":"#);
        string(out, s.opening_time);
        out.extend_from_slice(br#","freeMinutes":"#);
        int(out, s.free_minutes);
        out.extend_from_slice(br#","icon":"#);
        string(out, s.icon);
        out.extend_from_slice(br#","content":"#);
        string(out, s.content);
        out.extend_from_slice(br#","province":"#);
        string(out, s.province);
        out.extend_from_slice(br#","price":"#);
        amount(out, s.price);
        out.extend_from_slice(br#","name":"#);
        string(out, s.name);
        out.extend_from_slice(br#","deposit":"#);
        amount(out, s.deposit);
        out.extend_from_slice(br#","logo":"#);
        string(out, s.logo);
        out.extend_from_slice(br#","id":"#);
        string(out, s.id);
        out.extend_from_slice(br#","region":"#);
        string(out, s.region);
        out.extend_from_slice(br#","longitude":"#);
        coord(out, s.longitude);
        out.extend_from_slice(br#"},"batteries":["#);
        for (i, b) in self.batteries.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(br#"{"slotNum":"#);
            uint(out, u64::from(b.slot_num));
            out.extend_from_slice(br#","vol":"#);
            uint(out, u64::from(b.vol));
            out.extend_from_slice(br#","batteryId":"#);
            string(out, b.battery_id);
            out.push(b'}');
        }
        let c = &self.cabinet;
        out.extend_from_slice(br#"],"cabinet":{"ip":"#);
        string(out, c.ip);
        out.extend_from_slice(br#","remark":"#);
        string(out, c.remark);
        out.extend_from_slice(br#","posOnlineStatus":"#);
        string(out, c.pos_online_status);
        out.extend_from_slice(br#","type":"#);
        uint_text(out, c.kind as u64);
        out.extend_from_slice(br#","slots":"#);
        uint(out, c.slots as u64);
        out.extend_from_slice(br#","qrCode":"#);
        string(out, c.qr_code);
        out.extend_from_slice(br#","online":"#);
        boolean(out, c.online);
        out.extend_from_slice(br#","emptySlots":"#);
        uint(out, c.empty_slots as u64);
        out.extend_from_slice(br#","busySlots":"#);
        uint(out, c.busy_slots as u64);
        out.extend_from_slice(br#","id":"#);
        string(out, c.id);
        out.extend_from_slice(br#","shopId":"#);
        string(out, c.shop_id);
        out.extend_from_slice(br#","signal":"#);
        string(out, c.signal);
        out.extend_from_slice(br#","posDeviceId":"#);
        string(out, c.pos_device_id);
        out.extend_from_slice(b"}}}");
    }
}

/// O1's (and O7's) parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DeviceQuery {
    /// Device id (3 letters + 5 digits).
    #[schemars(example = &"BJD60151")]
    pub device_id: Text,
}

/// O1 `GET /rent/cabinet/query?deviceId=` (and O7, its POST copy): the cabinet, its batteries,
/// its shop and the price strategy new orders are billed with. Offline: `2004`.
async fn device_info(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<DeviceQuery>,
) -> Result<HttpResponse, Error> {
    let device = q.device_id.as_str();
    let now = state.clock.now();
    let store = &state.store;
    if let Some(body) = answer_cache::get(store.stamp(), &agent.0, device, now) {
        return Ok(envelope::json_bytes(body));
    }
    let keep = answer_cache::worth_keeping(device);
    let (answer, stamp) = store.read_stamped(|w| {
        let cab = w.cabinet_of(&agent.0, device)?;
        if !cab.online {
            return Err(Error::device_offline());
        }
        device_info_bytes(w, cab, now, keep)
    });
    let (bytes, until) = answer?;
    let body = web::Bytes::from(bytes);
    if keep {
        answer_cache::put(stamp, &agent.0, device, now, until, body.clone());
    }
    Ok(envelope::json_bytes(body))
}

/// O2's parameters.
#[derive(Deserialize, JsonSchema)]
pub struct CreateOrder {
    /// The cabinet to rent from.
    #[serde(rename = "deviceId")]
    #[schemars(example = &"BJD60151")]
    pub device_id: Text,
    /// Absolute http(s) URL called back with a form POST `status=0|1|2&tradeNo=...`; its own
    /// query string is kept. Documented as required; an order without one gets no callbacks.
    #[serde(rename = "callbackURL")]
    #[schemars(required, example = &"http://127.0.0.1:9/callback?rental=42")]
    pub callback_url: Option<Text>,
}

/// O2 `POST /rent/order/create?deviceId=&callbackURL=`: a new order; the cabinet ejects on its
/// own shortly after unless `ejectByRent` names a slot first.
async fn create_order(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<CreateOrder>,
) -> Result<HttpResponse, Error> {
    let device = q.device_id.as_str();
    let callback = q.callback_url.map(|u| u.0.into_string());
    if let Some(url) = callback.as_deref() {
        crate::model::push_config::check_url(url).map_err(|why| Error::bad_param("callbackURL", why))?;
    }
    let now = state.clock.now();
    let (trade_no, events) =
        state.store.write(|w, out| w.create_order(&agent.0, device, callback, OrderOrigin::OpenApi, now, out))?;
    state.push.publish(events);
    Ok(envelope::ok(Created { trade_no: &trade_no }))
}

/// O3-O5's parameters: the order, by `tradeNo` as documented (`orderId` tolerated; the
/// journal warns, `--strict` refuses it before the handler runs).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OrderRef {
    /// The order's trade number, as O2 answered it.
    #[schemars(required, example = &"BJCD0000000000000001")]
    pub trade_no: Option<Text>,
    /// Tolerated spelling of `tradeNo`.
    #[schemars(skip)]
    pub order_id: Option<Text>,
}

impl OrderRef {
    /// The trade number, whichever spelling carried it.
    fn trade_no(&self) -> Result<&str, Error> {
        self.trade_no
            .as_ref()
            .or(self.order_id.as_ref())
            .map(|t| t.as_str())
            .ok_or_else(|| Error::missing_param("tradeNo"))
    }
}

/// O3 `POST /rent/order/query?tradeNo=`: the result goes to the order's callbackURL (sent
/// again for the current state); the answer also carries it, for clients without a receiver.
async fn query_order(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<OrderRef>,
) -> Result<HttpResponse, Error> {
    let t = q.trade_no()?;
    let now = state.clock.now();
    let (o, events) = state.store.write(|w, out| w.query_order(&agent.0, t, now, out))?;
    state.push.publish(events);
    Ok(envelope::ok(Queried { trade_no: &o.trade_no, borrow_status: o.status.borrow_status() }))
}

/// O4 `POST /rent/order/close?tradeNo=`: mark the order completed.
async fn close_order(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<OrderRef>,
) -> Result<HttpResponse, Error> {
    let t = q.trade_no()?;
    let now = state.clock.now();
    state.store.write(|w, _| w.close_order(&agent.0, t, now))?;
    Ok(envelope::ok_empty())
}

/// O5 `GET /rent/order/detail?tradeNo=` (`orderId` tolerated).
async fn order_detail(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<OrderRef>,
) -> Result<HttpResponse, Error> {
    let t = q.trade_no()?;
    let now = state.clock.now();
    let bytes = state.store.read(|w| {
        let o = w.order_of(&agent.0, t)?;
        let ended = o.status.is_ended();
        let return_shop = o.return_shop.as_deref().and_then(|s| w.shops().get(s)).map(|s| s.name.as_str());
        Envelope::ok(OrderDetail {
            cabinet_id: &o.cabinet,
            order_id: &o.trade_no,
            battery_id: o.battery.as_deref().unwrap_or_default(),
            daily_max_price: Amount(o.terms.daily_max),
            free_minutes: o.terms.free_minutes,
            order_amount: Amount(o.amount_at(now)),
            borrow_time: fmt_datetime(o.borrow_time.unwrap_or(o.created_at)),
            price: Amount(o.terms.price),
            currency: &o.terms.currency,
            device_type: &o.device_type,
            price_minute: o.terms.period_minutes.to_string(),
            borrow_slot: o.slot.unwrap_or(0),
            return_time: if ended { o.end_time.map(fmt_datetime) } else { None },
            return_shop: if o.status == OrderStatus::Returned { return_shop } else { None },
            borrow_status: o.status.borrow_status(),
            deposit: Amount(o.terms.deposit),
        })
        .to_bytes()
    })?;
    Ok(envelope::json_bytes(bytes))
}

/// O6's parameters.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct GeoQuery {
    /// WGS-84, GCJ-02 or BD-09 (case-insensitive, the dash optional).
    #[schemars(example = &"WGS-84")]
    pub coord_type: Text,
    /// 1 (widest) to 8; sets the search radius. A string in the docs, so in this document;
    /// read as an integer.
    #[schemars(with = "String", example = &"5")]
    pub zoom_level: Int<1, 8>,
    /// Latitude of the map's centre, -90..90 (a string in the docs).
    #[schemars(with = "String", example = &"48.8606")]
    pub lat: Latitude,
    /// Longitude of the map's centre, -180..180 (a string in the docs).
    #[schemars(with = "String", example = &"2.3376")]
    pub lng: Longitude,
    /// true (default) or false (a string in the docs). Validated, but the answer is the same
    /// either way: production's answer with `showPrice=false` is not captured, and real terms
    /// are the one price block that every client's types accept (docs/fidelity.md, "O6 price
    /// block").
    #[schemars(with = "Option<String>", example = &"true")]
    pub show_price: Option<bool>,
}

/// At most this many shops in an O6 answer: the nearest ones. A map view shows a screenful of
/// markers; an uncapped zoom level 1 over a large fleet would be tens of megabytes.
pub const O6_LIMIT: usize = 100;

/// O6 `POST /rent/cabinet/list`: the agent's shops within the zoom level's radius of
/// `lat`/`lng`, nearest first (at most [`O6_LIMIT`]), one item per shop with its cabinets'
/// stock. The array is in top-level `list`.
async fn device_list(
    state: web::Data<AppState>,
    agent: AuthAgent,
    Input(q): Input<GeoQuery>,
) -> Result<HttpResponse, Error> {
    let coord_type = q.coord_type.to_ascii_uppercase();
    let zoom = q.zoom_level.get() as u8;
    let (lat, lng) = (q.lat.0, q.lng.0);
    let (lat, lng) = match coord_type.as_str() {
        "WGS-84" | "WGS84" => (lat, lng),
        "GCJ-02" | "GCJ02" => geo::gcj02_to_wgs84(lat, lng),
        "BD-09" | "BD09" => geo::bd09_to_wgs84(lat, lng),
        _ => return Err(Error::bad_param("coordType", "expected WGS-84, GCJ-02 or BD-09")),
    };
    let radius = geo::zoom_radius_m(zoom).unwrap_or(0.0);
    let now = state.clock.now();
    // Items borrow the world, so the answer is serialised inside the read lock.
    let bytes = state.store.read(|w| {
        // Nearest first, at most O6_LIMIT shops (docs/fidelity.md, Scale): the grid of
        // shops by place answers without scanning the fleet.
        let list = w
            .shops_near(&agent.0, lat, lng, radius, O6_LIMIT)
            .into_iter()
            .map(|(d, shop)| {
                let cabs: Vec<&Cabinet> = w.cabinets_in_shop(&shop.id).collect();
                let (mut batteries, mut free) = (0, 0);
                for c in &cabs {
                    let counts = w.slot_counts(c, now);
                    batteries += counts.batteries;
                    if c.online {
                        free += counts.rentable;
                    }
                }
                let online = cabs.iter().any(|c| c.online);
                // The same terms whatever `showPrice` says: a string in every field, as
                // production writes them (docs/fidelity.md, "O6 price block").
                let terms = w
                    .strategy_for_shop(shop)
                    .map(|p| p.terms(&shop.currency))
                    .unwrap_or_else(|| PriceTerms::platform_default(&shop.currency));
                NearbyShop {
                    price: NearbyPrice {
                        price_id: terms.price_id.unwrap_or_default(),
                        free_duration: terms.free_minutes.to_string(),
                        price: terms.price.to_string(),
                        charge_unit: terms.period_minutes.to_string(),
                        daily_cap_amount: terms.daily_max.to_string(),
                        deposit: terms.deposit.to_string(),
                    },
                    cabinet: NearbyStock {
                        battery_num: batteries.to_string(),
                        free_num: free.to_string(),
                        info_status: if online { "1" } else { "0" },
                    },
                    shop: NearbyShopInfo {
                        id: &shop.id,
                        shop_name: &shop.name,
                        shop_address: shop.address.as_deref().unwrap_or_default(),
                        mobile: &shop.mobile,
                        distance: geo::distance_text(d),
                        longitude: coord(shop.longitude),
                        latitude: coord(shop.latitude),
                        shop_banner: &shop.banner,
                        shop_icon: &shop.icon,
                        distance_number: (d * 10.0).round() / 10.0,
                        scene_type: shop.scene_type.to_string(),
                    },
                }
            })
            .collect::<Vec<_>>();
        Envelope::ok_list(list).to_bytes()
    })?;
    Ok(envelope::json_bytes(bytes))
}

/// O2's answer.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Created<'a> {
    trade_no: &'a str,
}

/// O3's answer.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct Queried<'a> {
    trade_no: &'a str,
    borrow_status: i64,
}

/// O5's answer. `returnTime` once the rental ended, `returnShop` once the battery came back
/// (`null` before: the platform's fields are nullable here).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct OrderDetail<'a> {
    cabinet_id: &'a str,
    order_id: &'a str,
    battery_id: &'a str,
    daily_max_price: Amount,
    free_minutes: i64,
    order_amount: Amount,
    borrow_time: String,
    price: Amount,
    currency: &'a str,
    device_type: &'a str,
    price_minute: String,
    borrow_slot: u16,
    return_time: Option<String>,
    return_shop: Option<&'a str>,
    borrow_status: i64,
    deposit: Amount,
}

/// One O6 item: a shop near the point with its cabinets' stock and its price terms.
#[derive(Serialize, JsonSchema)]
struct NearbyShop<'a> {
    price: NearbyPrice,
    cabinet: NearbyStock,
    shop: NearbyShopInfo<'a>,
}

/// O6 `price`: every amount a string, as production writes them.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct NearbyPrice {
    price_id: PriceId,
    free_duration: String,
    price: String,
    charge_unit: String,
    daily_cap_amount: String,
    deposit: String,
}

/// O6 `cabinet`: the shop's stock over all its cabinets.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct NearbyStock {
    battery_num: String,
    free_num: String,
    info_status: &'static str,
}

/// O6 `shop`.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct NearbyShopInfo<'a> {
    id: &'a str,
    shop_name: &'a str,
    shop_address: &'a str,
    mobile: &'a str,
    distance: String,
    longitude: String,
    latitude: String,
    shop_banner: &'a str,
    shop_icon: &'a str,
    distance_number: f64,
    scene_type: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Money;

    fn view<'a>(text: &'a str, address: Option<&'a str>, cents: i64, batteries: usize) -> DeviceInfo<'a> {
        DeviceInfo {
            price_strategy: PriceView {
                deposit_amount: Amount(Money(cents * 25)),
                price_minute: 60,
                auto_refund: -1,
                timeout_amount: Amount(Money(cents + 3)),
                timeout_day: i64::MAX,
                daily_max_price: Amount(Money(-cents)),
                free_minutes: 0,
                currency_symbol: "\u{20ac}",
                price: Amount(Money(cents)),
                name: text,
                currency: "EUR",
                shop_id: text,
            },
            shop: ShopView {
                address,
                price_minute: cents % 7 - 3,
                city: text,
                daily_max_price: Amount(Money(cents * 7)),
                // No shop: both coordinates "".
                latitude: (batteries != 2).then_some(48.860611 + cents as f64),
                opening_time: "09:00-18:00",
                free_minutes: 5,
                icon: text,
                content: "",
                province: text,
                price: Amount(Money(cents)),
                name: text,
                deposit: Amount(Money(150)),
                logo: text,
                id: "009e3779b9",
                region: text,
                longitude: (batteries != 2).then_some(-2.3522219),
            },
            batteries: (0..batteries)
                .map(|i| BatteryView { slot_num: i as u16 + 1, vol: (i * 37 % 101) as u8, battery_id: text })
                .collect(),
            cabinet: CabinetView {
                ip: text,
                remark: text,
                pos_online_status: "online",
                kind: 12 + batteries,
                slots: 12,
                qr_code: "BAA00000",
                online: batteries.is_multiple_of(2),
                empty_slots: 12usize.saturating_sub(batteries),
                busy_slots: batteries,
                id: "BAA00000",
                shop_id: text,
                signal: text,
                pos_device_id: text,
            },
        }
    }

    #[test]
    fn the_o1_writer_writes_what_serde_json_writes_for_the_view() {
        let texts = ["", "Fleet Night", "Caf\u{e9} \"Gare\" \\ \u{20ac}", "tab\tnew\nline\u{1}", "\u{1F50B}"];
        let mut compared = 0;
        for text in texts {
            for address in [None, Some(text), Some("1 rue \"X\"")] {
                for cents in [0, 1, 100, 150, 3000, 1234567, -250] {
                    for batteries in [0, 1, 2, 12, 48] {
                        let info = view(text, address, cents, batteries);
                        let mut fast = Vec::new();
                        info.write_envelope(&mut fast);
                        let reference = envelope::ok_bytes(&info).unwrap();
                        assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(reference).unwrap());
                        compared += 1;
                    }
                }
            }
        }
        assert_eq!(compared, 5 * 3 * 7 * 5);
    }
}
