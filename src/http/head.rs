//! HEAD of a JSON read, answered as PocketBase answers it: the GET's
//! status and headers, `Content-Length` among them, and no body. poem
//! answers a HEAD on a route without its own by running the GET and
//! dropping the body, and the length went with it, so a client that sizes
//! a list or a record with a HEAD (before fetching it, or to check it
//! exists cheaply) read no length from Cairn where PocketBase gives one.
//! For answers built in memory: the body is read to be measured.

use poem::{
    Endpoint, IntoResponse, Request, Response, Result,
    http::{HeaderValue, Method, header},
};

/// `E` (a GET endpoint) answering a HEAD, with the length of the body it
/// would have sent.
pub struct SizedHead<E>(pub E);

impl<E: Endpoint> Endpoint for SizedHead<E> {
    type Output = Response;

    async fn call(&self, mut req: Request) -> Result<Response> {
        req.set_method(Method::GET);
        let mut resp = self.0.call(req).await?.into_response();
        let body = resp.take_body().into_bytes().await?;
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
        Ok(resp)
    }
}
