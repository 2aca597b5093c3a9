"""Class mode's sign-in page and the signed-in line in the sidebar (personal mode shows neither)."""
from __future__ import annotations

import streamlit as st

from core.classroom.accounts import AccountBook, AccountError, Identity, SignInGuard


@st.cache_resource(show_spinner=False)
def guard() -> SignInGuard:
    """Failed sign-ins per name, for the whole server (a new tab or session does not reset them)."""
    return SignInGuard()


def school_sign_in() -> bool:
    """Whether the server has an OpenID Connect provider for st.login ([auth] in .streamlit/secrets.toml)."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def signed_in() -> Identity | None:
    """The session's identity, while its account still exists (a removed account is signed out on its next click).
    Someone signed in through the school's provider is the account with that email: the same Identity as a password
    gives, kept across reloads by st.login's cookie."""
    who = st.session_state.get("identity")
    if who is None and school_sign_in() and st.user.is_logged_in:
        who = AccountBook().by_email(st.user.get("email"))
        if who is None:
            st.session_state.school_refused = st.user.get("email")
    if who is not None and who.name not in {name for name, _ in AccountBook().names()}:
        who = None
    st.session_state.identity = who
    return who


def sign_in_ui() -> None:
    st.title("CIFAR-10 Studio")
    st.caption("This server runs a class: sign in with the name and password your teacher gave you.")
    with st.form("sign_in"):
        name = st.text_input("Name", key="sign_in_name")
        password = st.text_input("Password", type="password", key="sign_in_password")
        pressed = st.form_submit_button("Sign in", type="primary")
    if pressed:
        try:
            st.session_state.identity = guard().sign_in(AccountBook(), name, password)
            st.rerun()
        except AccountError as exc:
            st.error(str(exc))
    if school_sign_in():
        refused = st.session_state.pop("school_refused", None)
        if refused:
            st.error(f"{refused} has no account on this server: ask your teacher to add it "
                     "(`python -m core accounts add NAME --email ...`).")
        st.button("Sign in with your school account", key="school_sign_in", on_click=st.login,
                  icon=":material/school:")


def account_sidebar_ui(who: Identity) -> None:
    with st.sidebar:
        st.caption(f"Signed in as **{who.name}**" + (" (teacher)" if who.teacher else ""))
        if st.button("Sign out", key="sign_out", icon=":material/logout:"):
            st.session_state.identity = None
            if school_sign_in() and st.user.is_logged_in:
                st.logout()  # st.login's cookie too, or the next click would sign in again
            st.rerun()
