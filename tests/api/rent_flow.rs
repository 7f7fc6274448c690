//! The rent flow end to end (issue: foundation).

use crate::helpers::*;

#[tokio::test]
async fn device_info_answers_for_an_online_cabinet() {
    let app = spawn_app().await;
    let v = app.device(DEMO, DEMO_CAB).await;
    assert_eq!(v["code"], 0);
    assert_eq!(v["data"]["cabinet"]["id"], DEMO_CAB);
}
