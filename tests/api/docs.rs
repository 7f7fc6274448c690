//! What the user documentation promises beyond single operations: the hint a frozen clock
//! gives a waiting test, and the default world and enumerations the docs list.

use crate::helpers::*;
use serde_json::Value;

/// With the clock frozen an order's automatic eject never comes, so a test waiting for its
/// callback would time out without a clue; the time-out message names the frozen clock and
/// the order, and stays quiet when nothing is due or the clock runs.
#[tokio::test]
async fn a_wait_that_times_out_on_a_frozen_clock_with_an_eject_due_says_why() {
    let app = spawn_app().await;
    let sink = format!("{}/_sim/ui/sink/rent", app.base);
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={sink}")).await;
    let trade = v["data"]["tradeNo"].as_str().expect("tradeNo").to_string();

    let v = app.control_get(&format!("/pushes/wait?order={trade}&count=1&timeoutMs=50")).await;
    assert_eq!(v["code"], 9001, "{v}");
    let msg = v["msg"].as_str().unwrap_or_default();
    assert!(msg.starts_with("Timed out after 50 ms with 0 of 1 matching deliveries."), "{msg}");
    assert!(msg.contains("virtual clock is frozen") && msg.contains(&trade), "{msg}");
    assert!(msg.contains("/_sim/clock?advance=") && msg.contains("ejectByRent"), "{msg}");

    // Another order's wait is not about this eject: no hint.
    let v = app.control_get("/pushes/wait?order=26030209000000000000&count=1&timeoutMs=10").await;
    assert_eq!(v["msg"], "Timed out after 10 ms with 0 of 1 matching deliveries.", "{v}");

    // Once the clock moves the eject happens and the callback arrives.
    app.advance(1).await;
    let v = app.control_get(&format!("/pushes/wait?order={trade}&count=1&timeoutMs=5000")).await;
    assert_eq!(v["code"], 0, "{v}");
    assert_eq!(v["data"]["records"][0]["body"], format!("status=1&tradeNo={trade}"));

    // Nothing is due any more: a time-out is a plain one again.
    let v = app.control_get(&format!("/pushes/wait?order={trade}&count=5&timeoutMs=10")).await;
    assert_eq!(v["msg"], "Timed out after 10 ms with 1 of 5 matching deliveries.", "{v}");

    // A running clock gives no hint either, even with an eject due.
    app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={sink}")).await;
    app.control("/clock?freeze=false&speed=0").await;
    let v = app.control_get("/pushes/wait?event=RENT_CALLBACK_1&count=2&timeoutMs=10").await;
    assert_eq!(v["msg"], "Timed out after 10 ms with 1 of 2 matching deliveries.", "{v}");
}

/// An `ejectByRent` that succeeded leaves its order's eject window queued (it does nothing when
/// it comes due): a wait that times out afterwards, on a frozen clock, for deliveries that went
/// out and failed, must not say the order still waits for an eject.
#[tokio::test]
async fn a_wait_after_a_successful_eject_by_rent_gives_no_eject_hint() {
    let app = spawn_app().await;
    // A receiver that does not exist: the deliveries go out and are answered 404.
    let trade = app.create_order(DEMO, DEMO_CAB, &format!("{}/_sim/no-such-receiver", app.base)).await;
    // Before the eject, on the frozen clock, the hint names the order's automatic eject.
    let v = app.control_get(&format!("/pushes/wait?order={trade}&count=1&timeoutMs=10")).await;
    assert!(v["msg"].as_str().unwrap_or_default().contains("waits for its automatic eject"), "{v}");
    app.rent_slot(DEMO, DEMO_CAB, &trade, 0).await;
    assert_eq!(app.order_detail(DEMO, &trade).await["borrowStatus"], 1);
    // Its callback went out and failed: a wait for a delivered one times out, without a hint.
    let v = app.control_get(&format!("/pushes/wait?order={trade}&status=delivered&count=1&timeoutMs=50")).await;
    assert_eq!(v["code"], 9001, "{v}");
    assert_eq!(v["msg"], "Timed out after 50 ms with 0 of 1 matching deliveries.", "{v}");
}

/// The demo (`scripts/demo.sh`) wires every push and the simulated customers' callbacks to the
/// built-in receiver with `--push-url` and `--customer-callback-url`; that wiring is part of
/// the world as loaded, so after "Reset world" a rent still shows all its events.
#[tokio::test]
async fn the_demo_wiring_survives_a_reset_and_a_rent_then_shows_all_its_events() {
    let app = spawn_with(bajie_sim::config::Config {
        push_url: Some("/_sim/ui/sink/events".into()),
        customer_callback_url: Some("/_sim/ui/sink/customers".into()),
        ..bajie_sim::config::Config::for_tests()
    })
    .await;
    let own = |path: &str| format!("{}{path}", app.base);
    // Somebody replaces the wiring by hand, then resets the world.
    app.control("/agents/demo/push?pushUrl=http://127.0.0.1:9/elsewhere&events=BATTERY_IN").await;
    app.control("/reset").await;

    let (_, v) = app.get("/cabinet/eventPush/config/get").await;
    assert_eq!(v["data"]["pushUrl"], own("/_sim/ui/sink/events"), "{v}");
    assert_eq!(v["data"]["eventSubscriptions"].as_array().map(Vec::len), Some(EVENT_NAMES.len()), "{v}");
    let (_, v) = app.get_as(ACME, "/cabinet/eventPush/config/get").await;
    assert_eq!(v["data"]["pushUrl"], own("/_sim/ui/sink/events"), "{v}");
    let v = app.control_get("/sim").await;
    assert_eq!(v["data"]["settings"]["customerCallbackUrl"], own("/_sim/ui/sink/customers"), "{v}");

    // A rent after the reset: its push and its callback, both delivered to the receiver.
    let callback = own("/_sim/ui/sink/rent");
    let (_, v) = app.post(&format!("/rent/order/create?deviceId={DEMO_CAB}&callbackURL={callback}")).await;
    let trade = v["data"]["tradeNo"].as_str().expect("tradeNo").to_string();
    app.advance(1).await;
    let v = app.control_get(&format!("/pushes/wait?order={trade}&count=2&timeoutMs=10000")).await;
    assert_eq!(v["code"], 0, "{v}");
    let events: Vec<&str> =
        v["data"]["records"].as_array().unwrap().iter().filter_map(|r| r["event"].as_str()).collect();
    assert_eq!(events, ["BATTERY_BORROW_OUT", "RENT_CALLBACK_1"], "{v}");
    let urls: Vec<&str> = v["data"]["records"].as_array().unwrap().iter().filter_map(|r| r["url"].as_str()).collect();
    assert_eq!(urls, [own("/_sim/ui/sink/events"), callback], "{v}");
}

/// `docs/default-world.md` lists the embedded default world as generated here from
/// `fixtures/default.json`; a change to either without the other fails. Run with
/// `BAJIE_SIM_BLESS=1` to rewrite the generated part of the page.
#[test]
fn the_default_world_page_is_the_embedded_fixtures() {
    const PAGE: &str = "docs/default-world.md";
    const MARKER: &str = "<!-- generated from fixtures/default.json by tests/api/docs.rs; BAJIE_SIM_BLESS=1 cargo test --test api docs:: rewrites it -->";
    let doc = std::fs::read_to_string(PAGE).expect("docs/default-world.md exists");
    let head = doc.split(MARKER).next().unwrap_or_default();
    let want = format!("{head}{MARKER}\n\n{}", default_world_tables());
    if std::env::var("BAJIE_SIM_BLESS").is_ok_and(|v| v == "1") {
        std::fs::write(PAGE, &want).expect("write the page");
        return;
    }
    assert!(doc.contains(MARKER), "{PAGE} lacks the marker line");
    assert_eq!(
        doc, want,
        "{PAGE} is not the default world: BAJIE_SIM_BLESS=1 cargo test --test api docs:: rewrites it"
    );
}

/// The tables of `docs/default-world.md`, from the embedded fixture file.
fn default_world_tables() -> String {
    let f: Value = serde_json::from_str(bajie_sim::fixtures::DEFAULT_FIXTURES).expect("fixtures parse");
    let s = |v: &Value| match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    };
    let mut out = String::new();
    let agents = f["agents"].as_array().expect("agents");
    out += "## Merchants\n\n| account / password | company | shops | cabinets | price strategies |\n|---|---|---|---|---|\n";
    for a in agents {
        let ids: Vec<String> = a["priceStrategies"].as_array().into_iter().flatten().map(|p| s(&p["id"])).collect();
        out += &format!(
            "| `{}` / `{}` | {} | {} | {} | {} |\n",
            s(&a["account"]),
            s(&a["password"]),
            s(&a["name"]),
            a["shops"].as_array().map_or(0, Vec::len),
            a["cabinets"].as_array().map_or(0, Vec::len),
            ids.join(", ")
        );
    }
    out += "\n## Price strategies\n\n| id | merchant | name | free minutes | price | daily cap | deposit | bought out after | shops bound |\n|---|---|---|---|---|---|---|---|---|\n";
    for a in agents {
        for p in a["priceStrategies"].as_array().into_iter().flatten() {
            let unit = match p["priceUnit"].as_i64().unwrap_or(0) {
                1 => "h",
                2 => "day",
                _ => "min",
            };
            let shops: Vec<String> = a["shops"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|sh| sh["priceId"] == p["id"])
                .map(|sh| format!("`{}`", s(&sh["id"])))
                .collect();
            out += &format!(
                "| {} | `{}` | {} | {} | {} per {} {unit} | {} | {} | {} days, {} | {} |\n",
                s(&p["id"]),
                s(&a["account"]),
                s(&p["name"]),
                s(&p["freeMinutes"]),
                s(&p["price"]),
                s(&p["priceTime"]),
                s(&p["dailyMaxPrice"]),
                s(&p["depositAmount"]),
                s(&p["timeoutDay"]),
                s(&p["timeoutAmount"]),
                shops.join(", ")
            );
        }
    }
    out += "\n## Shops\n\n| id | merchant | name | city | currency | opening hours | strategy | cabinets |\n|---|---|---|---|---|---|---|---|\n";
    for a in agents {
        for sh in a["shops"].as_array().into_iter().flatten() {
            let cabs: Vec<String> = a["cabinets"]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|c| c["shopId"] == sh["id"])
                .map(|c| format!("`{}`", s(&c["id"])))
                .collect();
            out += &format!(
                "| `{}` | `{}` | {} | {} | {} | {} | {} | {} |\n",
                s(&sh["id"]),
                s(&a["account"]),
                s(&sh["name"]),
                s(&sh["city"]),
                s(&sh["currency"]),
                s(&sh["openingTime"]),
                s(&sh["priceId"]),
                cabs.join(", ")
            );
        }
    }
    out += "\n## Cabinets\n\nRentable: healthy battery in a healthy slot with at least 20 % charge at the start time (the\nothers charge up as virtual time passes).\n\n| id | merchant | shop | slots | batteries (in slots) | rentable at start | notes |\n|---|---|---|---|---|---|---|\n";
    for a in agents {
        let shop_name = |id: &Value| {
            a["shops"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|sh| &sh["id"] == id)
                .map(|sh| s(&sh["name"]))
                .unwrap_or_default()
        };
        for c in a["cabinets"].as_array().into_iter().flatten() {
            let batteries = c["batteries"].as_array().cloned().unwrap_or_default();
            let slots = c["slots"].as_u64().unwrap_or(0) as usize;
            let mut notes = Vec::new();
            if c["online"] == false {
                notes.push("**offline**".to_string());
            }
            if batteries.is_empty() {
                notes.push("**empty**: no battery to rent".to_string());
            } else if batteries.len() == slots {
                notes.push("**full**: no slot to return into".to_string());
            }
            if !s(&c["posDeviceId"]).is_empty() {
                notes.push(format!("POS terminal `{}`", s(&c["posDeviceId"])));
            }
            for fault in c["faults"].as_array().into_iter().flatten() {
                notes.push(format!("slot {} fault {}", s(&fault["slot"]), s(&fault["fault"])));
            }
            for b in batteries.iter().filter(|b| b["fault"].as_u64().unwrap_or(0) != 0) {
                notes.push(format!("battery in slot {} fault {}", s(&b["slot"]), s(&b["fault"])));
            }
            let faulty_slot = |slot: &Value| {
                c["faults"].as_array().into_iter().flatten().any(|f| &f["slot"] == slot && f["fault"] != 0)
            };
            let rentable = batteries
                .iter()
                .filter(|b| b["fault"].as_u64().unwrap_or(0) == 0 && !faulty_slot(&b["slot"]))
                .filter(|b| b["vol"].as_f64().unwrap_or(0.0) >= 20.0)
                .count();
            let used: Vec<String> = batteries.iter().map(|b| s(&b["slot"])).collect();
            let in_slots = if used.is_empty() { String::new() } else { format!(" ({})", used.join(", ")) };
            out += &format!(
                "| `{}` | `{}` | {} | {} | {}{in_slots} | {rentable} | {} |\n",
                s(&c["id"]),
                s(&a["account"]),
                shop_name(&c["shopId"]),
                slots,
                batteries.len(),
                notes.join("; ")
            );
        }
    }
    out
}

/// The embedded default world is valid under the schema `bajie-sim --fixture-schema` prints,
/// and the schema refuses what the loader refuses (unknown fields, wrong types, missing
/// required fields), so the check has teeth.
#[test]
fn the_default_world_validates_against_the_fixture_schema() {
    let schema = bajie_sim::fixtures::schema();
    let world: Value = serde_json::from_str(bajie_sim::fixtures::DEFAULT_FIXTURES).expect("fixtures parse");
    let errors = validate(&schema, &schema, &world, "$");
    assert!(errors.is_empty(), "{errors:#?}");

    let mut typo = world.clone();
    typo["agents"][0]["cabinets"][0]["slot"] = 8.into();
    let mut wrong = world.clone();
    wrong["agents"][1]["shops"][0]["latitude"] = "north".into();
    let mut missing = world.clone();
    missing["agents"][0]["priceStrategies"][0].as_object_mut().unwrap().remove("price");
    for (what, bad) in [("an unknown field", typo), ("a wrong type", wrong), ("a missing field", missing)] {
        assert!(!validate(&schema, &schema, &bad, "$").is_empty(), "{what} passed the schema");
        assert!(bajie_sim::fixtures::load(&bad.to_string(), 1, 0).is_err(), "{what} passed the loader");
    }
    // Simulation rates are checked by their own type when the world is built.
    let mut bad_sim = world.clone();
    bad_sim["sim"] = serde_json::json!({ "rentsPerCabinetHour": "lots" });
    assert!(!validate(&schema, &schema, &bad_sim, "$").is_empty(), "bad rates passed the schema");
    assert!(serde_json::from_value::<bajie_sim::model::SimSettings>(bad_sim["sim"].clone()).is_err());
}

/// A JSON Schema check of the keywords the fixture schema uses (`$ref` into `$defs`, `type`,
/// `properties`, `required`, `additionalProperties`, `items`, `anyOf`/`oneOf`, `enum`,
/// `minimum`/`maximum`); an unknown keyword is reported rather than ignored.
fn validate(root: &Value, schema: &Value, v: &Value, at: &str) -> Vec<String> {
    let mut errors = Vec::new();
    let Some(obj) = schema.as_object() else {
        if schema == &Value::Bool(false) {
            errors.push(format!("{at}: not allowed"));
        }
        return errors;
    };
    for (key, rule) in obj {
        match key.as_str() {
            "$ref" => {
                let name = rule.as_str().and_then(|r| r.strip_prefix("#/$defs/")).expect("local $ref");
                errors.extend(validate(root, &root["$defs"][name], v, at));
            }
            "type" => {
                let types: Vec<&str> = match rule {
                    Value::Array(list) => list.iter().filter_map(Value::as_str).collect(),
                    other => other.as_str().into_iter().collect(),
                };
                let ok = types.iter().any(|t| match *t {
                    "object" => v.is_object(),
                    "array" => v.is_array(),
                    "string" => v.is_string(),
                    "boolean" => v.is_boolean(),
                    "null" => v.is_null(),
                    "number" => v.is_number(),
                    "integer" => v.is_i64() || v.is_u64() || v.as_f64().is_some_and(|f| f.fract() == 0.0),
                    _ => false,
                });
                if !ok {
                    errors.push(format!("{at}: {v} is not {types:?}"));
                }
            }
            "properties" => {
                for (name, sub) in rule.as_object().into_iter().flatten() {
                    if let Some(x) = v.get(name) {
                        errors.extend(validate(root, sub, x, &format!("{at}.{name}")));
                    }
                }
            }
            "required" => {
                for name in rule.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    if v.is_object() && v.get(name).is_none() {
                        errors.push(format!("{at}: {name} is required"));
                    }
                }
            }
            "additionalProperties" => {
                let known = obj.get("properties").and_then(Value::as_object);
                for (name, x) in v.as_object().into_iter().flatten() {
                    if known.is_some_and(|k| k.contains_key(name)) {
                        continue;
                    }
                    errors.extend(validate(root, rule, x, &format!("{at}.{name}")));
                }
            }
            "items" => {
                for (i, x) in v.as_array().into_iter().flatten().enumerate() {
                    errors.extend(validate(root, rule, x, &format!("{at}[{i}]")));
                }
            }
            "anyOf" | "oneOf" => {
                let passing =
                    rule.as_array().into_iter().flatten().filter(|s| validate(root, s, v, at).is_empty()).count();
                if passing == 0 || (key == "oneOf" && passing > 1) {
                    errors.push(format!("{at}: {passing} branches of {key} match {v}"));
                }
            }
            "enum" => {
                if !rule.as_array().is_some_and(|l| l.contains(v)) {
                    errors.push(format!("{at}: {v} is not one of {rule}"));
                }
            }
            "minimum" | "maximum" => {
                if let (Some(x), Some(bound)) = (v.as_f64(), rule.as_f64()) {
                    if (key == "minimum" && x < bound) || (key == "maximum" && x > bound) {
                        errors.push(format!("{at}: {x} is outside {key} {bound}"));
                    }
                }
            }
            "$schema" | "$defs" | "title" | "description" | "default" | "format" | "examples" => {}
            other => errors.push(format!("{at}: the schema uses {other}, which this check does not know")),
        }
    }
    errors
}

/// The fault-type tables of `docs/api-reference.md` say what the simulator writes.
#[test]
fn the_api_reference_lists_the_fault_types_the_simulator_uses() {
    use bajie_sim::model::fault_types::{BatteryFault, RentalFailure, SlotFault};
    let doc = include_str!("../../docs/api-reference.md");
    let section = |title: &str| {
        let start = doc.find(&format!("### {title}\n")).unwrap_or_else(|| panic!("no section {title}"));
        let rest = &doc[start + 4..];
        rest[..rest.find("\n### ").unwrap_or(rest.len())].to_string()
    };
    let battery = section("Battery fault types");
    for f in &BatteryFault::ALL[1..] {
        assert!(battery.contains(&format!("| {} | {} |", f.code(), f.cause())), "battery fault {f:?}");
    }
    let slot = section("Slot fault types");
    for f in &SlotFault::ALL[1..] {
        assert!(slot.contains(&format!("| {} | {} |", f.code(), f.cause())), "slot fault {f:?}");
    }
    let rental = section("Rental failure types");
    for f in RentalFailure::ALL {
        let row = match f.code() {
            3..=5 => format!("| 3, 4, 5 | {} |", f.cause()),
            n => format!("| {n} | {}", f.cause()),
        };
        assert!(rental.contains(&row), "rental failure {f:?}");
    }
    let events = section("Events");
    for e in EVENT_NAMES {
        assert!(events.contains(&format!("| `{e}` |")), "event {e}");
    }
}

/// `docs/fidelity.md` names, for every choice (each bullet, and each `###` section, some of
/// which are written as prose), the test that pins it, as `(test: [`module::name`](path))` or
/// `(tests: ..., ...)`; every name cited is a test in the file it links. So a link cannot rot
/// when a test is renamed or moved, and a choice cannot be added without its test. (A choice
/// no test can check says why instead, as `(untestable: ...)`.)
#[test]
fn every_fidelity_choice_links_a_test_that_exists() {
    const PAGE: &str = "docs/fidelity.md";
    let doc = std::fs::read_to_string(PAGE).expect("docs/fidelity.md exists");
    let lines: Vec<&str> = doc.lines().collect();
    let mut problems = Vec::new();
    let pinned = |text: &str| ["(test: [`", "(tests: [`", "(untestable: "].iter().any(|m| text.contains(m));

    // Each bullet: its first line and the indented lines that continue it.
    let mut choices = 0;
    for (i, line) in lines.iter().enumerate() {
        if !line.starts_with("- ") {
            continue;
        }
        choices += 1;
        let end = lines[i + 1..].iter().position(|l| !l.starts_with("  ")).map_or(lines.len(), |n| i + 1 + n);
        if !pinned(&lines[i..end].join("\n")) {
            problems.push(format!("{PAGE}:{}: a choice without a test link: {line}", i + 1));
        }
    }
    // Each `###` section, up to the next heading.
    for (i, line) in lines.iter().enumerate().filter(|(_, l)| l.starts_with("### ")) {
        let end = lines[i + 1..].iter().position(|l| l.starts_with('#')).map_or(lines.len(), |n| i + 1 + n);
        if !pinned(&lines[i..end].join("\n")) {
            problems.push(format!("{PAGE}:{}: a section without a test link: {line}", i + 1));
        }
    }
    assert!(choices >= 100, "only {choices} choices found in {PAGE}: did its bullet style change?");
    assert!(!doc.contains("search them for the"), "{PAGE} still points at files instead of tests");

    // Every cited test exists where its link points.
    let mut cited = 0;
    for (at, _) in doc.match_indices("(test: ").chain(doc.match_indices("(tests: ")) {
        let mut rest = &doc[at..];
        rest = &rest[rest.find(' ').map_or(0, |n| n + 1)..];
        loop {
            let Some(link) = rest.strip_prefix("[`").and_then(|r| r.split_once("`](")) else {
                problems.push(format!("{PAGE}: a test link not written [`module::name`](path): {}", head(rest)));
                break;
            };
            let (name, r) = link;
            let Some((path, r)) = r.split_once(')') else {
                problems.push(format!("{PAGE}: an unclosed test link: {}", head(rest)));
                break;
            };
            cited += 1;
            if let Err(e) = test_exists(name, path) {
                problems.push(format!("{PAGE}: [`{name}`]({path}): {e}"));
            }
            match r.strip_prefix(", ") {
                Some(next) => rest = next,
                None if r.starts_with(')') => break,
                None => {
                    problems.push(format!("{PAGE}: a test list must end right after its last link: {}", head(r)));
                    break;
                }
            }
        }
    }
    assert!(cited >= choices, "{cited} test links for {choices} choices");
    assert!(problems.is_empty(), "{} problems:\n{}", problems.len(), problems.join("\n"));
}

/// The first characters of `s`, for a message.
fn head(s: &str) -> String {
    s.chars().take(80).collect()
}

/// Whether `name` is a test in the file `path` (relative to `docs/`): `module::function` for
/// Rust (the module is the file's name, or its folder's for `mod.rs`), or
/// `file.mjs: title` for a `node --test` test.
fn test_exists(name: &str, path: &str) -> Result<(), String> {
    let file = std::path::Path::new("docs").join(path);
    let src = std::fs::read_to_string(&file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    if let Some((script, title)) = name.split_once(": ") {
        let same_file = file.file_name().is_some_and(|f| f == script);
        return match same_file && src.contains(&format!("test(\"{title}\"")) {
            true => Ok(()),
            false => Err(format!("no test(\"{title}\", ...) in {script}")),
        };
    }
    let (module, function) = name.split_once("::").ok_or("not module::function")?;
    let stem = file.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
    let folder = file.parent().and_then(|p| p.file_name()).and_then(|s| s.to_str()).unwrap_or_default();
    if module != stem && !(stem == "mod" && module == folder) {
        return Err(format!("the module of {} is not {module}", file.display()));
    }
    let at = src.find(&format!("fn {function}()")).ok_or_else(|| format!("no fn {function}() in the file"))?;
    // The attributes and comments between the previous item and this function.
    let before = &src[src[..at].rfind("\n}").unwrap_or(0)..at];
    match before.contains("#[test]") || before.contains("#[tokio::test") {
        true => Ok(()),
        false => Err(format!("fn {function} is not a test")),
    }
}

/// `docs/code-map.md` points at files and folders that exist, so the map cannot rot silently.
#[test]
fn every_path_of_the_code_map_exists() {
    let doc = std::fs::read_to_string("docs/code-map.md").expect("docs/code-map.md exists");
    let mut seen = 0;
    for quoted in doc.split('`').skip(1).step_by(2) {
        let path = quoted.split(' ').next().unwrap_or("");
        if !(path.starts_with("src/") || path.starts_with("tests/") || path.starts_with("openapi/")) {
            continue;
        }
        seen += 1;
        let path = path.replace("<group>.rs", "open.rs");
        assert!(std::path::Path::new(&path).exists(), "docs/code-map.md names {path}, which does not exist");
    }
    assert!(seen >= 20, "only {seen} paths found in docs/code-map.md");
}
