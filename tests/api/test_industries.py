"""Industries are global: every signed-in user reads them, only platform staff write."""


def test_staff_manage_industries_and_everyone_reads(api, register, make_staff):
    staff = make_staff(register("staff"))
    customer = register("customer")
    r = api.post("/v1/industries", {"name": "Coffee", "description": "Beans and brewing"}, token=staff.token)
    assert r.status == 201
    industry_id = r.json["industry_id"]
    assert api.get(f"/v1/industries/{industry_id}", token=customer.token).json["name"] == "Coffee"
    assert [i["industry_id"] for i in api.get("/v1/industries", token=customer.token).json["items"]] == [industry_id]
    assert api.patch(f"/v1/industries/{industry_id}", {"name": "Coffee & Tea"}, token=staff.token).status == 200
    site = api.post("/v1/sites", {"name": "s", "industry_id": industry_id}, token=customer.token)
    assert site.status == 201 and site.json["industry_id"] == industry_id
    assert api.delete(f"/v1/industries/{industry_id}", token=staff.token).status == 200


def test_customers_cannot_write_industries(api, register):
    owner = register()
    r = api.post("/v1/industries", {"name": "Hacking"}, token=owner.token)
    assert r.status == 403 and r.error_code == "staff_only"
    assert api.patch("/v1/industries/x", {"name": "y"}, token=owner.token).status == 403
    assert api.delete("/v1/industries/x", token=owner.token).status == 403
