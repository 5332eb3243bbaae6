use reqwest::Method;

use crate::{Client, Error, Profile};

impl Client {
    /// `GET /api/v1/profile`: validates the token (a user token; bot tokens get 401).
    ///
    /// # Errors
    /// [`Error::Status`] 401 for a bad token; transport and decode errors.
    pub async fn profile(&self) -> Result<Profile, Error> {
        self.json(self.request(Method::GET, "api/v1/profile")?)
            .await
    }
}
