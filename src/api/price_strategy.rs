//! Advance API / PriceStrategy (P1-P6, docs/api-reference.md): the account's price strategies as
//! `OpenPriceStrategySaveDto`-shaped records (with the docs' `setcionFee` spelling), their
//! create/update, delete and binding to shops.

use super::auth::AuthAgent;
use super::body::JsonBody;
use super::envelope::{self, Amount, Envelope};
use super::input::{bind_body, bind_list, Int, Price, Short, Text};
use super::operation::{schema, Answer, Body, Method, Operation, PathParam};
use super::paging::{paginate, Page};
use super::route;
use crate::error::Error;
use crate::model::price_admin::BindingKind;
use crate::model::PriceId;
use crate::model::{PriceStrategy, TimetableRow, World};
use crate::state::AppState;
use actix_web::{web, HttpResponse};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// P1-P6, as the OpenAPI document lists them.
pub const OPERATIONS: &[Operation] = &[
    Operation {
        id: "P1",
        name: "strategy_page",
        methods: &[Method::Post],
        path: "/shop/priceStrategy/page",
        tag: TAG,
        summary: "P1 1.Get Price Strategy Page",
        body: Some(Body::Typed(schema::<StrategyQuery>)),
        answer: Answer::Data(schema::<Page<StrategyView<'static>>>),
        ..Operation::BASE
    },
    Operation {
        id: "P2",
        name: "strategy_detail",
        path: "/shop/priceStrategy/detail/{priceId}",
        tag: TAG,
        summary: "P2 2.Get Price Strategy Detail",
        path_params: &[PathParam { name: "priceId", description: "Price id (string in the docs).", example: "101" }],
        answer: Answer::Data(schema::<StrategyView<'static>>),
        ..Operation::BASE
    },
    Operation {
        id: "P3",
        name: "save_strategy",
        methods: &[Method::Post],
        path: "/shop/priceStrategy/saveOrUpdate",
        tag: TAG,
        summary: "P3 3.Create Or Update Price Strategy",
        body: Some(Body::Typed(schema::<StrategyDraft>)),
        answer: Answer::Data(schema::<SavedStrategy>),
        ..Operation::BASE
    },
    Operation {
        id: "P4",
        name: "delete_strategy",
        methods: &[Method::Post],
        path: "/shop/priceStrategy/delete",
        tag: TAG,
        summary: "P4 4.Delete Price Strategy (\"Strategyy\")",
        body: Some(Body::Typed(schema::<Vec<Int<0, { i64::MAX }>>>)),
        ..Operation::BASE
    },
    Operation {
        id: "P5",
        name: "bind_strategy",
        methods: &[Method::Post],
        path: "/shop/priceStrategy/bindShop",
        tag: TAG,
        summary: "P5 5.Shop Bind Price Strategy",
        body: Some(Body::Typed(schema::<BindStrategy>)),
        ..Operation::BASE
    },
    Operation {
        id: "P6",
        name: "unbind_strategy",
        methods: &[Method::Post],
        path: "/shop/priceStrategy/unbindShop",
        tag: TAG,
        summary: "P6 6.Shop Unbind Price Strategy",
        body: Some(Body::Typed(schema::<UnbindStrategy>)),
        ..Operation::BASE
    },
];

const TAG: &str = "Advance API / PriceStrategy";

/// Register this group's routes (relative to `/cdb-open-api/v1`).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/shop/priceStrategy/page", route::post().to(page))
        .route("/shop/priceStrategy/detail/{priceId}", route::get().to(detail))
        .route("/shop/priceStrategy/saveOrUpdate", route::post().to(save_or_update))
        .route("/shop/priceStrategy/delete", route::post().to(delete))
        .route("/shop/priceStrategy/bindShop", route::post().to(bind_shop))
        .route("/shop/priceStrategy/unbindShop", route::post().to(unbind_shop));
}

fn custom_type(k: BindingKind) -> i64 {
    match k {
        BindingKind::General => 0,
        BindingKind::Pos => 1,
    }
}

/// One row of a strategy's timetable (`priceStrategyDetailList`). `setcionFee` is the
/// platform's spelling.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct TimetableView {
    start_minute: i64,
    end_minute: i64,
    setcion_fee: Amount,
    total_fee: Amount,
    seqno: i64,
}

/// A shop a strategy is bound to (`bindShops`).
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct BoundShopView<'a> {
    shop_id: &'a str,
    shop_name: &'a str,
    custom_type: i64,
}

/// One strategy as P1 records and P2 show it: P3's fields, plus `autoRefund`, the billing
/// period `priceMinute` and the shops it is bound to.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StrategyView<'a> {
    price_id: PriceId,
    name: &'a str,
    shop_id: Option<&'a str>,
    #[serde(rename = "type")]
    kind: i64,
    custom_type: i64,
    priority: i64,
    is_deposit: bool,
    deposit_amount: Amount,
    timeout_amount: Amount,
    timeout_day: i64,
    free_minutes: i64,
    day_use_free_count: i64,
    price: Amount,
    price_time: i64,
    price_unit: i64,
    daily_max_price: Amount,
    auto_refund: i64,
    price_minute: i64,
    price_strategy_detail_list: Vec<TimetableView>,
    bind_shops: Vec<BoundShopView<'a>>,
}

fn strategy_view<'a>(w: &'a World, p: &'a PriceStrategy) -> StrategyView<'a> {
    StrategyView {
        price_id: p.id,
        name: &p.name,
        shop_id: p.shop.as_deref(),
        kind: p.kind,
        custom_type: p.custom_type,
        priority: p.priority,
        is_deposit: p.is_deposit,
        deposit_amount: Amount(p.deposit),
        timeout_amount: Amount(p.timeout_amount),
        timeout_day: p.timeout_day,
        free_minutes: p.free_minutes,
        day_use_free_count: p.day_use_free_count,
        price: Amount(p.price),
        price_time: p.price_time,
        price_unit: p.price_unit,
        daily_max_price: Amount(p.daily_max),
        auto_refund: p.auto_refund,
        price_minute: p.period_minutes(),
        price_strategy_detail_list: p
            .details
            .iter()
            .map(|r| TimetableView {
                start_minute: r.start_minute,
                end_minute: r.end_minute,
                setcion_fee: Amount(r.section_fee),
                total_fee: Amount(r.total_fee),
                seqno: r.seqno,
            })
            .collect(),
        bind_shops: w
            .shops_bound_to(p.id)
            .into_iter()
            .map(|(s, k)| BoundShopView { shop_id: &s.id, shop_name: &s.name, custom_type: custom_type(k) })
            .collect(),
    }
}

/// P3's answer: the id of the strategy saved.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
struct SavedStrategy {
    price_id: PriceId,
}

/// P1's body (`OpenPriceStrategyQueryDto`); every member optional.
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "OpenPriceStrategyQueryDto")]
pub struct StrategyQuery {
    /// Page size (default 10).
    pub size: Option<Int<1, 1000>>,
    /// Page number from 1 (default 1).
    pub current: Option<Int<1, 1_000_000>>,
    /// Only strategies of this shop: its own, or bound to it.
    pub shop_id: Option<Text>,
    /// Only this strategy (0 is no filter).
    pub price_id: Option<Int<0, { i64::MAX }>>,
    /// Only strategies whose name contains this (case-insensitive).
    pub name: Option<Text>,
}

/// P1 `POST /shop/priceStrategy/page` with `{size, current, shopId, priceId, name}` (all
/// optional): the account's strategies in id order, filtered (`shopId`: created for or bound
/// to that shop; `name`: case-insensitive substring; `priceId` 0 means no filter), a page in
/// `data`.
async fn page(state: web::Data<AppState>, agent: AuthAgent, body: JsonBody) -> Result<HttpResponse, Error> {
    let q: StrategyQuery = bind_body(&body.0)?;
    let size = q.size.map_or(10, Int::get) as usize;
    let current = q.current.map_or(1, Int::get) as usize;
    let shop = q.shop_id.as_deref();
    let price_id = q.price_id.map(Int::get).filter(|&v| v > 0).map(|v| PriceId(v as u64));
    let name = q.name.map(|n| n.to_lowercase());
    // Views borrow the world, so the answer is serialised inside the read lock; only the
    // page's strategies are turned into views.
    let bytes = state.store.read(|w| {
        let mine = w
            .strategies()
            .values()
            .filter(|p| p.agent == *agent.0)
            .filter(|p| price_id.is_none_or(|id| p.id == id))
            .filter(|p| name.as_deref().is_none_or(|n| p.name.to_lowercase().contains(n)))
            .filter(|p| {
                shop.is_none_or(|s| {
                    p.shop.as_deref() == Some(s) || w.shops_bound_to(p.id).iter().any(|(b, _)| b.id == s)
                })
            })
            .collect::<Vec<_>>();
        Envelope::ok(paginate(mine, current, size).map(|p| strategy_view(w, p))).to_bytes()
    })?;
    Ok(envelope::json_bytes(bytes))
}

fn price_id_of(raw: &str) -> Result<PriceId, Error> {
    raw.trim()
        .parse()
        .map(PriceId)
        .map_err(|_| Error::bad_param("priceId", format!("'{}' is not a price id", super::params::clip(raw))))
}

/// P2 `GET /shop/priceStrategy/detail/{priceId}`: one strategy.
async fn detail(state: web::Data<AppState>, agent: AuthAgent, path: web::Path<String>) -> Result<HttpResponse, Error> {
    let id = price_id_of(&path)?;
    let bytes = state.store.read(|w| Envelope::ok(strategy_view(w, w.strategy_of(&agent.0, id)?)).to_bytes())?;
    Ok(envelope::json_bytes(bytes))
}

/// Parse the timetable rows (`priceStrategyDetailList`), sorted by start minute.
/// P3's body (`OpenPriceStrategySaveDto`).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "OpenPriceStrategySaveDto")]
pub struct StrategyDraft {
    /// The strategy to update; absent, null or 0 (what Java clients send for an unset id)
    /// creates a new one.
    pub price_id: Option<Int<0, { i64::MAX }>>,
    /// 1 per period, 2 timetable (needs `priceStrategyDetailList`), 3 per period with a cap.
    #[serde(rename = "type")]
    pub kind: Int<1, 3>,
    /// Name.
    pub name: Short<100>,
    /// The shop the strategy belongs to.
    pub shop_id: Option<Text>,
    /// 0 general, 1 POS.
    pub custom_type: Int<0, 1>,
    /// Higher wins when several apply (default 0).
    pub priority: Option<Int<-1_000_000, 1_000_000>>,
    /// Whether a deposit is taken (default true).
    pub is_deposit: Option<bool>,
    /// Deposit.
    pub deposit_amount: Price,
    /// Charged when the battery is not back after `timeoutDay` days.
    pub timeout_amount: Price,
    /// Days before the timeout amount is charged.
    pub timeout_day: Int<0, 365>,
    /// Free minutes at the start.
    pub free_minutes: Int<0, 100_000>,
    /// Free rentals per day (default 0).
    pub day_use_free_count: Option<Int<0, 1000>>,
    /// Price of one period.
    pub price: Price,
    /// Length of one period, in `priceUnit`s.
    pub price_time: Int<1, 100_000>,
    /// 0 minutes, 1 hours, 2 days.
    pub price_unit: Int<0, 2>,
    /// Most charged in one day.
    pub daily_max_price: Price,
    /// 0 or 1 (default 0).
    pub auto_refund: Option<Int<0, 1>>,
    /// The timetable of a type 2 strategy.
    pub price_strategy_detail_list: Option<Vec<TimetableDraft>>,
}

/// One row of a timetable (`PriceStrategyDetailRow`).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "PriceStrategyDetailRow")]
pub struct TimetableDraft {
    /// Minute the row starts at.
    pub start_minute: Int<0, 100_000>,
    /// Minute the row ends at (after `startMinute`).
    pub end_minute: Int<0, 100_000>,
    /// Fee of the section (the docs' spelling, default 0).
    pub setcion_fee: Option<Price>,
    /// Total up to the end of the row.
    pub total_fee: Price,
    /// Order (default: the row's position, from 1).
    pub seqno: Option<i64>,
}

fn timetable(rows: Option<Vec<TimetableDraft>>) -> Result<Vec<TimetableRow>, Error> {
    let mut out = Vec::new();
    for (i, r) in rows.into_iter().flatten().enumerate() {
        let (start, end) = (r.start_minute.get(), r.end_minute.get());
        if end <= start {
            return Err(Error::bad_param(
                &format!("priceStrategyDetailList[{i}].endMinute"),
                format!("{end} is not after startMinute {start}"),
            ));
        }
        out.push(TimetableRow {
            start_minute: start,
            end_minute: end,
            section_fee: r.setcion_fee.map(|p| p.0).unwrap_or_default(),
            total_fee: r.total_fee.0,
            seqno: r.seqno.unwrap_or(i as i64 + 1),
        });
    }
    out.sort_by_key(|r| r.start_minute);
    Ok(out)
}

/// Bind and check an `OpenPriceStrategySaveDto` body into the id to update (if any) and the
/// strategy to save.
fn strategy_draft(body: &JsonBody) -> Result<(Option<PriceId>, PriceStrategy), Error> {
    let d: StrategyDraft = bind_body(&body.0)?;
    let id = d.price_id.map(Int::get).filter(|&v| v > 0).map(|v| PriceId(v as u64));
    let kind = d.kind.get();
    let details = timetable(d.price_strategy_detail_list)?;
    if kind == 2 && details.is_empty() {
        return Err(Error::bad_param(
            "priceStrategyDetailList",
            "a timetable strategy (type 2) needs at least one row",
        ));
    }
    let p = PriceStrategy {
        id: PriceId(0),
        agent: String::new().into(),
        name: d.name.0,
        shop: d.shop_id.map(|s| s.as_str().into()),
        kind,
        custom_type: d.custom_type.get(),
        priority: d.priority.map_or(0, Int::get),
        is_deposit: d.is_deposit.unwrap_or(true),
        deposit: d.deposit_amount.0,
        timeout_amount: d.timeout_amount.0,
        timeout_day: d.timeout_day.get(),
        free_minutes: d.free_minutes.get(),
        day_use_free_count: d.day_use_free_count.map_or(0, Int::get),
        price: d.price.0,
        price_time: d.price_time.get(),
        price_unit: d.price_unit.get(),
        daily_max: d.daily_max_price.0,
        auto_refund: d.auto_refund.map_or(0, Int::get),
        details,
    };
    Ok((id, p))
}

/// P3 `POST /shop/priceStrategy/saveOrUpdate`: create (`priceId` null, absent or 0) or replace
/// (`priceId` set) a strategy; `data.priceId` names it. Saving does not bind it to `shopId`
/// (P5 does); a strategy bound to a shop bills that shop's new orders from now on.
async fn save_or_update(state: web::Data<AppState>, agent: AuthAgent, body: JsonBody) -> Result<HttpResponse, Error> {
    let (id, p) = strategy_draft(&body)?;
    let (id, _) = state.store.write(|w, _| w.save_strategy(&agent.0, id, p))?;
    Ok(envelope::ok(SavedStrategy { price_id: id }))
}

/// P4 `POST /shop/priceStrategy/delete` with a bare JSON array of price ids. A strategy still
/// bound to a shop is refused (`3102`); nothing is deleted unless all can be.
async fn delete(state: web::Data<AppState>, agent: AuthAgent, body: JsonBody) -> Result<HttpResponse, Error> {
    let ids: Vec<PriceId> =
        bind_list::<Int<0, { i64::MAX }>>(&body, "price ids")?.into_iter().map(|n| PriceId(n.get() as u64)).collect();
    state.store.write(|w, _| w.delete_strategies(&agent.0, &ids))?;
    Ok(envelope::ok_empty())
}

/// P5's body (`OpenPriceStrategyShopBindDto`).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "OpenPriceStrategyShopBindDto")]
pub struct BindStrategy {
    /// The shop.
    pub shop_id: Short<64>,
    /// The strategy.
    #[schemars(required)]
    pub price_id: Option<Int<1, { i64::MAX }>>,
    /// 0 general (default), 1 POS.
    pub custom_type: Option<Int<0, 1>>,
}

/// P6's body (`OpenPriceStrategyShopUnbindDto`).
#[derive(Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(rename = "OpenPriceStrategyShopUnbindDto")]
pub struct UnbindStrategy {
    /// The shop.
    pub shop_id: Short<64>,
    /// 0 general (default), 1 POS.
    pub custom_type: Option<Int<0, 1>>,
}

fn binding(custom_type: Option<Int<0, 1>>) -> BindingKind {
    match custom_type.map_or(0, Int::get) {
        0 => BindingKind::General,
        _ => BindingKind::Pos,
    }
}

/// P5 `POST /shop/priceStrategy/bindShop` with `{shopId, priceId, customType}`: bind for
/// general (0, default) or POS (1) rentals, replacing the previous binding of that kind.
async fn bind_shop(state: web::Data<AppState>, agent: AuthAgent, body: JsonBody) -> Result<HttpResponse, Error> {
    let b: BindStrategy = bind_body(&body.0)?;
    let id = PriceId(b.price_id.ok_or_else(|| Error::missing_param("priceId"))?.get() as u64);
    let kind = binding(b.custom_type);
    state.store.write(|w, _| w.bind_strategy(&agent.0, &b.shop_id, id, kind))?;
    Ok(envelope::ok_empty())
}

/// P6 `POST /shop/priceStrategy/unbindShop` with `{shopId, customType}`: remove the binding;
/// the shop's new orders then use the platform default terms.
async fn unbind_shop(state: web::Data<AppState>, agent: AuthAgent, body: JsonBody) -> Result<HttpResponse, Error> {
    let b: UnbindStrategy = bind_body(&body.0)?;
    let kind = binding(b.custom_type);
    state.store.write(|w, _| w.unbind_strategy(&agent.0, &b.shop_id, kind))?;
    Ok(envelope::ok_empty())
}
