from django.urls import path

from django_site import views

urlpatterns = [
    path("users/<int:user_id>", views.user, name="user"),
    path("error", views.error),
    path("status/<int:code>", views.status),
    path("class", views.ClassView.as_view()),
    path("missing", views.missing),
]
