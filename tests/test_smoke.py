def test_home_renders(seeded_client):
    response = seeded_client.get("/")
    assert response.status_code == 200
