from flask import Blueprint, render_template

from core import hookimpl
from core.contrib import MenuItem, Permission
from core.permissions import requires

bp = Blueprint("hello", __name__, url_prefix="/hello", template_folder="templates")


@bp.route("/")
@requires("hello.greeting.read")
def index():
    return render_template("hello/index.html")


@hookimpl
def register_blueprints():
    return [bp]


@hookimpl
def register_permissions():
    return [Permission("hello.greeting.read", "See the greeting")]


@hookimpl
def register_menu():
    return [MenuItem("Hello", "hello.index", "hello.greeting.read", order=500)]
