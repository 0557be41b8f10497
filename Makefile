# The two commands of README.md. Both prepare what they need and skip what is
# already done.
#
#   make run    embedded demo server on http://127.0.0.1:8000 (admin login printed)
#   make test   the whole suite on PostGIS + Redis, then a smoke run embedded

SHELL := /bin/bash
VENV := .venv
MANAGE := $(VENV)/bin/python manage.py
HOST ?= 127.0.0.1
PORT ?= 8000

# The demo runs with DEBUG on unless told otherwise (it prints a staff login).
run: export DEBUG ?= true

.PHONY: run test bootstrap

run: bootstrap
	$(MANAGE) migrate --noinput
	$(MANAGE) seed_world
	$(MANAGE) demo_staff
	@echo "Serving on http://$(HOST):$(PORT)/ (admin at /admin/, health at /api/health)"
	$(VENV)/bin/daphne -b $(HOST) -p $(PORT) mmo.asgi:application

bootstrap:
	@scripts/bootstrap.sh run

test:
	@scripts/test.sh
