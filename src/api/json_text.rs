//! `JsonText<T>`: a JSON answer already written out, described in the
//! OpenAPI document as `T`. poem-openapi's `Json<T>` builds a
//! `serde_json::Value` tree and serializes it on every answer; an answer
//! that is the same every time (the guest's `/api/health`, asked every few
//! seconds by every load balancer) is written once instead. The type
//! parameter keeps the document and the handler's signature honest: the
//! text is what `T` would serialize to.

use std::marker::PhantomData;

use poem::{IntoResponse, Response, http::header::CONTENT_TYPE};
use poem_openapi::{
    ApiResponse,
    payload::Payload,
    registry::{MetaMediaType, MetaResponse, MetaResponses, MetaSchemaRef, Registry},
    types::{ToJSON, Type},
};

pub struct JsonText<T> {
    text: std::borrow::Cow<'static, str>,
    shape: PhantomData<fn() -> T>,
}

impl<T: ToJSON> JsonText<T> {
    /// The answer `text`, which must be `T` serialized (a unit test per
    /// use says so).
    pub const fn fixed(text: &'static str) -> Self {
        Self {
            text: std::borrow::Cow::Borrowed(text),
            shape: PhantomData,
        }
    }

    /// `value` serialized now.
    pub fn of(value: &T) -> Self {
        Self {
            text: std::borrow::Cow::Owned(value.to_json_string()),
            shape: PhantomData,
        }
    }
}

impl<T: Type> Payload for JsonText<T> {
    const CONTENT_TYPE: &'static str = "application/json; charset=utf-8";

    fn schema_ref() -> MetaSchemaRef {
        T::schema_ref()
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}

impl<T: Type> IntoResponse for JsonText<T> {
    fn into_response(self) -> Response {
        let body = match self.text {
            std::borrow::Cow::Borrowed(s) => poem::Body::from_bytes(bytes::Bytes::from_static(s.as_bytes())),
            std::borrow::Cow::Owned(s) => poem::Body::from_string(s),
        };
        Response::builder()
            .header(CONTENT_TYPE, <Self as Payload>::CONTENT_TYPE)
            .body(body)
    }
}

impl<T: Type> ApiResponse for JsonText<T> {
    fn meta() -> MetaResponses {
        MetaResponses {
            responses: vec![MetaResponse {
                description: "",
                status: Some(200),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: <Self as Payload>::CONTENT_TYPE,
                    schema: <Self as Payload>::schema_ref(),
                }],
                headers: vec![],
            }],
        }
    }

    fn register(registry: &mut Registry) {
        T::register(registry);
    }
}
