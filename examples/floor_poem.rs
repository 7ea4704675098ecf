//! The HTTP floor for the benchmarks: a bare poem server answering a small
//! JSON body, with none of Cairn's layers or storage. `tests/bench` measures
//! it beside Cairn to show how much of the hardware's ceiling Cairn uses.
//! Prints the address it listens on, then serves until killed.

use poem::{Route, Server, get, handler, listener::TcpListener, web::Json};
use serde_json::{Value, json};

#[handler]
fn record() -> Json<Value> {
    Json(json!({
        "collectionId": "pbc_0000000000",
        "collectionName": "bench_read",
        "id": "read00000000007",
        "title": "Record number 7 lorem ipsum lorem ipsum lorem ipsum",
        "n": 512,
        "flag": true,
    }))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    drop(listener);
    println!("{addr}");
    Server::new(TcpListener::bind(addr.to_string()))
        .run(Route::new().at("/", get(record)))
        .await
}
