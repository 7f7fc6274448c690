//! Simulated customers: they arrive at a random cabinet following the daily demand curve,
//! rent the best battery through `create_order` (the same path as `/rent/order/create`), keep
//! it for a log-normal while and bring it back to the same or a nearby cabinet of the same
//! merchant; a full or offline cabinet sends them to the next one. Some never come back and
//! become buy-outs at the strategy's timeout (the world's `Due::Timeout`).

use super::{random, schedule, HOUR};
use crate::clock::{Millis, DAY, MINUTE};
use crate::model::world::Due;
use crate::model::{Event, OrderOrigin, OrderStatus, SimTask, World};

/// A customer may arrive now. Arrivals are drawn at the day's peak rate and kept with the
/// ratio of the current demand to the peak (thinning), which makes them a Poisson process
/// following the demand curve.
pub fn arrive(w: &mut World, at: Millis, out: &mut Vec<Event>) {
    let s = &w.sim.settings;
    let keep = s.demand_at((at / MINUTE).rem_euclid(1440)) / s.demand_max().max(f64::MIN_POSITIVE);
    if w.rng.unit() >= keep {
        return;
    }
    let Some(cabinet) = random::pick(&mut w.rng, &w.sim.index.cabinets).cloned() else {
        return;
    };
    let Some(cab) = w.cabinets.get(cabinet.as_str()) else {
        return;
    };
    // A customer only starts a rental where the app shows a battery to take.
    if !cab.online || w.best_slot(cab, at).is_none() {
        w.sim.stats.walk_aways += 1;
        return;
    }
    let agent = cab.agent.clone();
    let callback = w.sim.settings.customer_callback_url.clone();
    let Ok(trade_no) = w.create_order(&agent, &cabinet, callback, OrderOrigin::Customer, at, out) else {
        w.sim.stats.walk_aways += 1;
        return;
    };
    w.sim.stats.rentals += 1;
    let s = w.sim.settings.clone();
    if w.rng.chance(s.never_return_share) {
        w.sim.stats.never_returned += 1;
        // Forgotten once the buy-out has happened and the retention has passed.
        let timeout_days = w.orders.get(trade_no.as_str()).map(|o| o.terms.timeout_day).unwrap_or(0);
        if timeout_days > 0 && s.order_retention_hours > 0.0 {
            let when = at + timeout_days * DAY + retention(&s);
            schedule(w, when, SimTask::Forget(trade_no));
        }
        return;
    }
    let minutes = random::log_normal(
        &mut w.rng,
        s.rental_median_minutes,
        s.rental_sigma,
        s.rental_min_minutes,
        s.rental_max_minutes,
    );
    let when = at + w.settings.eject_delay_ms.max(0) + (minutes * MINUTE as f64).round() as Millis;
    schedule(w, when, SimTask::Return(trade_no));
}

fn retention(s: &crate::model::SimSettings) -> Millis {
    (s.order_retention_hours * HOUR as f64).round() as Millis
}

fn forget_later(w: &mut World, at: Millis, trade_no: &str) {
    let s = &w.sim.settings;
    if s.order_retention_hours > 0.0 {
        let when = at + retention(s);
        schedule(w, when, SimTask::Forget(trade_no.to_string()));
    }
}

/// The customer of `trade_no` brings the battery back.
pub fn give_back(w: &mut World, at: Millis, trade_no: &str, out: &mut Vec<Event>) {
    let Some(o) = w.orders.get(trade_no) else {
        return;
    };
    match o.status {
        OrderStatus::InLease => {}
        // Not ejected yet (a long eject delay): come back a little later.
        OrderStatus::Pending => {
            schedule(w, at + MINUTE, SimTask::Return(trade_no.to_string()));
            return;
        }
        // Failed, revoked, closed or bought out: nothing to bring back.
        _ => {
            forget_later(w, at, trade_no);
            return;
        }
    }
    let (Some(battery), origin) = (o.battery.clone(), o.cabinet.clone()) else {
        return;
    };
    for cabinet in choose_cabinets(w, &origin) {
        let accepts = w.cabinets.get(cabinet.as_str()).is_some_and(|c| c.online && c.free_slot().is_some());
        if accepts && w.return_battery(&cabinet, &battery, None, at, out).is_ok() {
            drop_timeout(w, trade_no);
            w.sim.stats.returns += 1;
            if cabinet != origin {
                w.sim.stats.returns_elsewhere += 1;
            }
            forget_later(w, at, trade_no);
            return;
        }
    }
    // Every cabinet nearby is full or offline: the customer tries again later.
    w.sim.stats.return_retries += 1;
    let mean = w.sim.settings.return_retry_minutes * MINUTE as f64;
    let wait = (mean * (0.5 + w.rng.unit())).round() as Millis;
    schedule(w, at + wait.max(MINUTE), SimTask::Return(trade_no.to_string()));
}

/// The buy-out deadline of a returned order has nothing left to do: remove it now rather
/// than keep it for days (at fleet scale that is millions of entries).
fn drop_timeout(w: &mut World, trade_no: &str) {
    let Some(o) = w.orders.get(trade_no) else {
        return;
    };
    if let (Some(borrowed), true) = (o.borrow_time, o.terms.timeout_day > 0) {
        let key = (borrowed + o.terms.timeout_day * DAY, Due::Timeout(trade_no.to_string()));
        w.due.remove(&key);
    }
}

/// Where the customer tries to return, in order: the cabinet they head for (the one they
/// rented from, or one nearby), then the other nearby cabinets nearest first, then the one
/// they rented from.
fn choose_cabinets(w: &mut World, origin: &str) -> Vec<String> {
    let s = &w.sim.settings;
    let (same, radius) = (s.same_cabinet_share, s.nearby_radius_m);
    let mut near = w.cabinets_near(origin, radius, 8);
    let stay = w.rng.chance(same);
    if stay || near.is_empty() {
        near.insert(0, origin.to_string());
        return near;
    }
    // They head for one of the closest few.
    let i = w.rng.below(near.len().min(4) as u64) as usize;
    let first = near.remove(i);
    near.insert(0, first);
    near.push(origin.to_string());
    near
}
