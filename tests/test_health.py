"""``/healthz`` answers 200 when the database answers and 503 when it does not."""


def test_healthz_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json == {"status": "ok", "database": "ok"}


def test_healthz_503_when_database_does_not_answer(tmp_path, app_factory):
    app = app_factory(f"sqlite:///{tmp_path}/no/such/folder/db.sqlite")
    response = app.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.json["status"] == "unavailable"


def test_pages_answer_503_with_a_plain_message_when_database_is_down(tmp_path, app_factory):
    app = app_factory(f"sqlite:///{tmp_path}/no/such/folder/db.sqlite")
    response = app.test_client().post("/login", data={"email": "a@b.c", "password": "x"})
    assert response.status_code == 503
    assert "The database is not answering" in response.get_data(as_text=True)
